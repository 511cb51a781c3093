//! `ns_smtpd relay ...` (domains we relay for, optionally with their own next hop) and
//! `ns_smtpd local ...` (client networks allowed to relay anywhere).
use crate::core::address::parse_address;
use crate::core::localnet::{parse_spec, Network, Spec};
use crate::core::relaydomains::parse_entry;
use crate::tcl::args::Args;
use crate::tcl::context::InterpContext;
use crate::tcl::value::{bad_choice, CmdError, CmdResult, Value};
use std::net::{IpAddr, ToSocketAddrs};

const RELAY_OPS: &[&str] = &["add", "check", "clear", "del", "get", "set"];

pub fn relay(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 3 {
        return Err(CmdError::wrong_args(
            "ns_smtpd relay",
            "add|check|clear|del|get|set ?arg ...?",
        ));
    }
    let op = args.str(2);
    let list = &context.instance.lists.relay_domains;
    match op.as_str() {
        "add" => {
            arity(args, 4, "ns_smtpd relay add", "domain?:host?:port??")?;
            let entry = parse_entry(&args.str(3)).map_err(list_error)?;
            list.write().unwrap().add(entry);
            Ok(Value::Empty)
        }
        "check" => {
            arity(args, 4, "ns_smtpd relay check", "address")?;
            let Some(address) = parse_address(&args.str(3)) else {
                return Ok(Value::Empty);
            };
            let list = list.read().unwrap();
            let target = list
                .find(&address.domain)
                .and_then(|entry| entry.target())
                .unwrap_or_default();
            Ok(Value::Str(target))
        }
        "clear" => {
            arity(args, 3, "ns_smtpd relay clear", "")?;
            list.write().unwrap().clear();
            Ok(Value::Empty)
        }
        "del" => {
            arity(args, 4, "ns_smtpd relay del", "domain")?;
            list.write().unwrap().del(&args.str(3));
            Ok(Value::Empty)
        }
        "get" => {
            arity(args, 3, "ns_smtpd relay get", "")?;
            Ok(string_list(list.read().unwrap().entries()))
        }
        "set" => {
            let entries = (3..args.len())
                .map(|i| parse_entry(&args.str(i)).map_err(list_error))
                .collect::<Result<Vec<_>, _>>()?;
            list.write().unwrap().set(entries);
            Ok(Value::Empty)
        }
        _ => Err(bad_choice("option", &op, RELAY_OPS)),
    }
}

const LOCAL_OPS: &[&str] = &["add", "check", "clear", "del", "get", "set"];

pub fn local(context: &InterpContext, args: &Args) -> CmdResult {
    if args.len() < 3 {
        return Err(CmdError::wrong_args(
            "ns_smtpd local",
            "add|check|clear|del|get|set ?arg ...?",
        ));
    }
    let op = args.str(2);
    let list = &context.instance.lists.local_nets;
    match op.as_str() {
        "add" => {
            arity(args, 4, "ns_smtpd local add", "ip|ip/bits|ip/mask|hostname")?;
            let nets = networks(&args.str(3))?;
            let mut list = list.write().unwrap();
            for net in nets {
                list.add(net);
            }
            Ok(Value::Empty)
        }
        "check" => {
            arity(args, 4, "ns_smtpd local check", "ip")?;
            let word = args.str(3);
            let ip: IpAddr = word
                .trim()
                .parse()
                .map_err(|_| CmdError::new(format!("invalid IP address \"{word}\"")))?;
            Ok(Value::from(list.read().unwrap().contains(ip)))
        }
        "clear" => {
            arity(args, 3, "ns_smtpd local clear", "")?;
            list.write().unwrap().clear();
            Ok(Value::Empty)
        }
        "del" => {
            arity(args, 4, "ns_smtpd local del", "ip|ip/bits|ip/mask|hostname")?;
            let nets = networks(&args.str(3))?;
            let mut list = list.write().unwrap();
            for net in &nets {
                list.del(net);
            }
            Ok(Value::Empty)
        }
        "get" => {
            arity(args, 3, "ns_smtpd local get", "")?;
            let list = list.read().unwrap();
            Ok(string_list(
                list.entries().iter().map(|n| n.to_string()).collect(),
            ))
        }
        "set" => {
            let mut all = Vec::new();
            for i in 3..args.len() {
                all.extend(networks(&args.str(i))?);
            }
            list.write().unwrap().set(all);
            Ok(Value::Empty)
        }
        _ => Err(bad_choice("option", &op, LOCAL_OPS)),
    }
}

/// The networks a `local` spec stands for; a host name is resolved once, now.
fn networks(spec: &str) -> Result<Vec<Network>, CmdError> {
    match parse_spec(spec).map_err(list_error)? {
        Spec::Net(net) => Ok(vec![net]),
        Spec::Host(host) => {
            let addrs = (host.as_str(), 0).to_socket_addrs().map_err(|e| {
                CmdError::new(format!(
                    "cannot resolve \"{host}\": {}",
                    crate::io::os_text(&e)
                ))
            })?;
            let mut nets: Vec<Network> = Vec::new();
            for addr in addrs {
                let net = Network::host(addr.ip());
                if !nets.contains(&net) {
                    nets.push(net);
                }
            }
            if nets.is_empty() {
                return Err(CmdError::new(format!("\"{host}\" has no addresses")));
            }
            Ok(nets)
        }
    }
}

fn arity(args: &Args, n: usize, words: &str, usage: &str) -> Result<(), CmdError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(CmdError::wrong_args(words, usage))
    }
}

fn string_list(items: Vec<String>) -> Value {
    Value::List(items.into_iter().map(Value::Str).collect())
}

fn list_error(e: impl std::fmt::Display) -> CmdError {
    CmdError::new(e.to_string())
}
