"""Memory of nssmtpd: resident memory per idle session (N concurrent sessions held open),
whether new sessions are still served, and the peak for one large message.

Usage: /usr/bin/python3 bench/memory.py LIB [sessions] [message MiB]   (defaults 10000, 10)
"""
import resource
import smtplib
import socket
import subprocess
import sys
import time

LIB = sys.argv[1]
SESSIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
MIB = int(sys.argv[3]) if len(sys.argv) > 3 else 10
PORT = 27100

SERVER = f"""
load {LIB} Nssmtpd
proc data {{id}} {{}}
ns_smtpd local add 127.0.0.1
ns_smtpd start -port {PORT} -initproc {{}} -rcptproc {{}} -dataproc data -debug 0 \\
    -maxconnections {SESSIONS + 100} -maxdata {(MIB + 1) << 20} -readtimeout 600
puts ready
vwait forever
"""


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    raise KeyError(key)


def start_server():
    server = subprocess.Popen(
        ["sh", "-c", f"ulimit -n {SESSIONS + 1000}; exec tclsh8.6"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    server.stdin.write(SERVER)
    server.stdin.flush()
    assert server.stdout.readline().strip() == "ready"
    # Warm up: one full transaction so lazily created state exists before measuring.
    with smtplib.SMTP("127.0.0.1", PORT) as s:
        s.sendmail("a@example.com", ["b@example.com"], "Subject: warm\r\n\r\nx\r\n")
    time.sleep(0.5)
    return server


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, SESSIONS + 1000), hard))
    idle_sessions()
    large_message()


def idle_sessions():
    server = start_server()
    # The tclsh is the shell's exec'd process.
    pid = server.pid
    try:
        base = status(pid, "VmRSS")
        socks = []
        for i in range(SESSIONS):
            c = socket.create_connection(("127.0.0.1", PORT))
            socks.append(c)
        # Every session has been greeted (so its task and buffers exist).
        for c in socks:
            c.settimeout(30)
            assert c.recv(512).startswith(b"220")
        time.sleep(1)
        held = status(pid, "VmRSS")
        with smtplib.SMTP("127.0.0.1", PORT, timeout=30) as s:
            served = s.noop()[0] == 250
        per = (held - base) * 1024 / SESSIONS
        print(f"idle sessions:        {SESSIONS}")
        print(f"resident before/with: {base} kB / {held} kB")
        print(f"per idle session:     {per / 1024:.1f} KiB")
        print(f"new session served:   {served}")
        for c in socks:
            c.close()
    finally:
        server.kill()
        server.wait()


def large_message():
    """A fresh server: resident memory before, and the high-water mark after one message."""
    server = start_server()
    pid = server.pid
    try:
        rss = status(pid, "VmHWM")
        body = ("x" * 998 + "\r\n") * ((MIB << 20) // 1000)
        with smtplib.SMTP("127.0.0.1", PORT, timeout=120) as s:
            s.sendmail("a@example.com", ["b@example.com"], "Subject: big\r\n\r\n" + body)
        peak = status(pid, "VmHWM")
        size = len(body)
        grew = peak - rss
        print(f"message size:         {size / (1 << 20):.1f} MiB")
        print(f"peak growth:          {grew / 1024:.1f} MiB ({grew * 1024 / size:.2f}x the message)")
    finally:
        server.kill()
        server.wait()


main()
