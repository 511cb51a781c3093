//! The interpreter pool (`workers N`): N worker threads, each with its own interpreter, so
//! one slow callback never stalls the sessions of the other workers and Tcl work can use
//! every core.
//!
//! A session is tied to one worker when it connects (the one with the fewest live sessions)
//! and all its callbacks run there, so per-session globals work as they did when the C
//! module ran a session on one thread. A worker whose interpreter ends (`exit`) is replaced
//! by a fresh one in the same place.
use super::bridge::{Bridge, Job};
use super::worker::{self, End, Ready, Spec};
use crate::io::policy::{HookFuture, HookOutcome, PolicyStats, Seat};
use crate::log::{log, Severity};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How long `start` waits for the workers' interpreters (and `workerinit`).
const READY_WAIT: Duration = Duration::from_secs(120);

pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    spec: Spec,
    slots: Vec<Slot>,
    /// Which worker each live session is tied to.
    seats: Mutex<HashMap<u64, usize>>,
    stopping: AtomicBool,
    restarts: AtomicU64,
    /// Worker threads still running, for `stop` to wait on.
    running: Mutex<usize>,
    ended: Condvar,
}

struct Slot {
    /// The worker's interpreter: starting, ready (its bridge), or gone.
    state: watch::Sender<SlotState>,
    /// Sessions tied to this worker now.
    live: AtomicUsize,
    /// Callbacks run by earlier interpreters of this slot (before a replacement).
    earlier_runs: AtomicU64,
}

#[derive(Clone)]
enum SlotState {
    /// The interpreter is being set up (at start, or replacing one that ended): callbacks
    /// wait for it.
    Starting,
    Ready(Arc<Bridge>),
    /// No interpreter will come (the pool stopped, or a replacement failed).
    Gone,
}

thread_local! {
    /// Set on a worker thread: the pool it belongs to (so `stop` from a callback does not
    /// wait for itself).
    static ON_WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Pool {
    /// Starts `count` workers and waits until each has its interpreter ready. A worker that
    /// fails (`workerinit` raised an error) fails the whole start: the others are stopped.
    pub fn start(spec: Spec, count: usize) -> Result<Pool, String> {
        let slots = (0..count)
            .map(|_| Slot {
                state: watch::Sender::new(SlotState::Starting),
                live: AtomicUsize::new(0),
                earlier_runs: AtomicU64::new(0),
            })
            .collect();
        let inner = Arc::new(Inner {
            spec,
            slots,
            seats: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            restarts: AtomicU64::new(0),
            running: Mutex::new(0),
            ended: Condvar::new(),
        });
        let pool = Pool { inner };
        let (tx, rx) = mpsc::channel::<(usize, Ready)>();
        for index in 0..count {
            let tx = tx.clone();
            if let Err(e) = Inner::spawn(&pool.inner, index, move |r| {
                let _ = tx.send((index, r));
            }) {
                pool.stop_and_wait(Duration::from_secs(5));
                return Err(e);
            }
        }
        drop(tx);
        let deadline = Instant::now() + READY_WAIT;
        for _ in 0..count {
            let left = deadline.saturating_duration_since(Instant::now());
            let failure = match rx.recv_timeout(left) {
                Ok((_, Ok(_))) => continue,
                Ok((index, Err(e))) => format!("workerinit failed in worker {index}: {e}"),
                Err(_) => format!("the workers were not ready within {READY_WAIT:?}"),
            };
            pool.stop_and_wait(Duration::from_secs(5));
            return Err(failure);
        }
        Ok(pool)
    }

    /// Ties session `id` to the worker with the fewest live sessions (live interpreters
    /// first); the seat unties it when the session ends.
    pub fn seat(&self, id: u64) -> Seat {
        let inner = &self.inner;
        let index = (0..inner.slots.len())
            .min_by_key(|&i| {
                let slot = &inner.slots[i];
                (!slot.usable(), slot.live.load(Ordering::Relaxed))
            })
            .unwrap_or(0);
        inner.slots[index].live.fetch_add(1, Ordering::Relaxed);
        inner.lock_seats().insert(id, index);
        let owner = inner.clone();
        Seat::new(move || {
            if let Some(i) = owner.lock_seats().remove(&id) {
                owner.slots[i].live.fetch_sub(1, Ordering::Relaxed);
            }
        })
    }

    /// The worker session `id` is tied to.
    pub fn worker_of(&self, id: u64) -> Option<usize> {
        self.inner.lock_seats().get(&id).copied()
    }

    /// Runs a job in session `id`'s worker, waiting for its interpreter while a new one is
    /// being set up there.
    pub fn call(&self, id: u64, job: Job, answer: oneshot::Receiver<HookOutcome>) -> HookFuture {
        let index = self.worker_of(id).unwrap_or(0);
        let Some(slot) = self.inner.slots.get(index) else {
            return Box::pin(async { HookOutcome::Unavailable });
        };
        let mut state = slot.state.subscribe();
        Box::pin(async move {
            let ready = state
                .wait_for(|s| !matches!(s, SlotState::Starting))
                .await
                .map(|s| s.clone());
            match ready {
                Ok(SlotState::Ready(bridge)) if bridge.post(job) => {
                    answer.await.unwrap_or(HookOutcome::Unavailable)
                }
                _ => HookOutcome::Unavailable,
            }
        })
    }

    pub fn stats(&self) -> PolicyStats {
        let slots = &self.inner.slots;
        let bridges: Vec<Option<Arc<Bridge>>> = slots.iter().map(Slot::bridge).collect();
        PolicyStats {
            workers: slots.len(),
            busy: bridges.iter().flatten().filter(|b| b.is_busy()).count(),
            queued: bridges.iter().flatten().map(|b| b.queued()).sum(),
            runs: slots
                .iter()
                .zip(&bridges)
                .map(|(s, b)| {
                    s.earlier_runs.load(Ordering::Relaxed) + b.as_ref().map_or(0, |b| b.runs())
                })
                .collect(),
            restarts: self.inner.restarts.load(Ordering::Relaxed),
        }
    }

    /// Ends every worker: each leaves its loop once its current callback returns. Waits up to
    /// `limit` for them (not when called from a worker, which cannot end while it waits).
    pub fn stop_and_wait(&self, limit: Duration) {
        let inner = &self.inner;
        inner.stopping.store(true, Ordering::Release);
        for slot in &inner.slots {
            if let Some(bridge) = slot.bridge() {
                worker::wake(&bridge);
            }
            // Callbacks waiting for a starting interpreter give up.
            slot.state.send_if_modified(|s| {
                let starting = matches!(s, SlotState::Starting);
                if starting {
                    *s = SlotState::Gone;
                }
                starting
            });
        }
        if ON_WORKER.with(|w| w.get()) == Arc::as_ptr(inner) as usize {
            return;
        }
        let running = inner.running.lock().unwrap_or_else(|e| e.into_inner());
        let (running, _) = inner
            .ended
            .wait_timeout_while(running, limit, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        if *running > 0 {
            log(
                Severity::Warning,
                &format!(
                    "nssmtpd: {} worker(s) still in a callback at stop; each ends when its callback returns",
                    *running
                ),
            );
        }
    }
}

impl Slot {
    fn bridge(&self) -> Option<Arc<Bridge>> {
        match &*self.state.borrow() {
            SlotState::Ready(bridge) => Some(bridge.clone()),
            _ => None,
        }
    }

    /// Whether the slot has, or will soon have, an interpreter.
    fn usable(&self) -> bool {
        match &*self.state.borrow() {
            SlotState::Ready(bridge) => bridge.is_alive(),
            SlotState::Starting => true,
            SlotState::Gone => false,
        }
    }
}

impl Inner {
    fn lock_seats(&self) -> std::sync::MutexGuard<'_, HashMap<u64, usize>> {
        self.seats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the worker thread for slot `index`; `ready` hears whether its interpreter
    /// came up.
    fn spawn(
        inner: &Arc<Inner>,
        index: usize,
        ready: impl FnOnce(Ready) + Send + 'static,
    ) -> Result<(), String> {
        *inner.running.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let me = inner.clone();
        let body = Box::new(move || {
            ON_WORKER.with(|w| w.set(Arc::as_ptr(&me) as usize));
            let end = worker::run(&me.spec, index, &me.stopping, |r| {
                me.slots[index].state.send_replace(match &r {
                    Ok(bridge) => SlotState::Ready(bridge.clone()),
                    Err(_) => SlotState::Gone,
                });
                ready(r);
            });
            me.retire(index, end);
        });
        worker::spawn_thread(format!("nssmtpd-worker{index}"), body).inspect_err(|_| {
            *inner.running.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        })
    }

    /// A worker thread is ending: its slot loses the interpreter, and a worker lost while
    /// the pool runs is replaced.
    fn retire(self: &Arc<Inner>, index: usize, end: End) {
        let slot = &self.slots[index];
        let replace = end == End::Lost && !self.stopping.load(Ordering::Acquire);
        let next = if replace {
            SlotState::Starting
        } else {
            SlotState::Gone
        };
        if let SlotState::Ready(old) = slot.state.send_replace(next) {
            slot.earlier_runs.fetch_add(old.runs(), Ordering::Relaxed);
        }
        if replace {
            self.restarts.fetch_add(1, Ordering::Relaxed);
            log(
                Severity::Warning,
                &format!("nssmtpd: worker {index} ended (exit or interpreter deleted); starting a new one"),
            );
            let replaced = Inner::spawn(self, index, move |r| {
                if let Err(e) = r {
                    log(
                        Severity::Error,
                        &format!("nssmtpd: worker {index} could not be replaced: {e}"),
                    );
                }
            });
            if let Err(e) = replaced {
                slot.state.send_replace(SlotState::Gone);
                log(Severity::Error, &format!("nssmtpd: worker {index}: {e}"));
            }
        }
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        self.ended.notify_all();
    }
}
