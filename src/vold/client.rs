//! The utilities' side of the protocol: a blocking `SOCK_SEQPACKET`
//! connection ([`Client`]), and a transaction with the retry policy of
//! vold(1M) ([`transact`]): a utility fails at once when vold is not
//! enabled as it starts, and once started it retries (every
//! [`RETRY_INTERVAL`], for up to [`RETRY_LIMIT`]) across a lost
//! connection or a vold that went disabled, resending the same
//! transaction id, so that a change is made once.

use super::dbformat::Txid;
use super::engine::MORE;
use super::ops::Op;
use super::record::{Config, Kind};
use super::spec::hex;
use super::text;
use super::wire::{Message, Opcode, MAX_MESSAGE};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a reply may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(120);
/// Between retries.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// How long a utility keeps retrying.
pub const RETRY_LIMIT: Duration = Duration::from_secs(600);
/// Overrides [`RETRY_LIMIT`] (seconds), for tests.
pub const RETRY_LIMIT_ENV: &str = "STATMON_VOL_RETRY_LIMIT";
/// Overrides [`RETRY_INTERVAL`] (milliseconds), for tests.
pub const RETRY_INTERVAL_ENV: &str = "STATMON_VOL_RETRY_MS";

/// One connection to a rendezvous point.
#[derive(Debug)]
pub struct Client {
    sock: Socket,
    seq: u32,
}

impl Client {
    /// Connects to the rendezvous point at `path`.
    pub fn connect(path: &Path) -> io::Result<Client> {
        let sock = Socket::new(Domain::UNIX, Type::SEQPACKET.cloexec(), None)?;
        sock.connect(&SockAddr::unix(path)?)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        sock.set_read_timeout(Some(REPLY_TIMEOUT))?;
        Ok(Client { sock, seq: 0 })
    }

    /// Sends one request and waits for its reply.
    pub fn call(&mut self, opcode: Opcode, body: &str) -> io::Result<Message> {
        self.seq = self.seq.wrapping_add(1);
        let msg = Message::new(opcode, self.seq, body);
        if !msg.fits() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a {}-byte request does not fit in one message", body.len()),
            ));
        }
        self.send_raw(&msg.encode())?;
        self.recv()
    }

    /// Sends `packet` as it is (tests send malformed ones).
    pub fn send_raw(&mut self, packet: &[u8]) -> io::Result<()> {
        self.sock.send(packet).map(|_| ())
    }

    /// The next reply.
    pub fn recv(&mut self) -> io::Result<Message> {
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        let n = (&self.sock).read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "vold closed the connection",
            ));
        }
        Message::decode(&buf[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }
}

/// A fresh transaction id (16 bytes of /dev/urandom).
pub fn random_id() -> io::Result<Txid> {
    let mut id = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut id)?;
    Ok(id)
}

/// Connects to the request point and says hello; an error (as text) when
/// vold is not there or not enabled.
pub fn connect_enabled(request: &Path, who: &str) -> Result<Client, String> {
    let mut c = Client::connect(request).map_err(|e| format!("vold is not running: {e}"))?;
    match c.call(Opcode::HELLO, who) {
        Ok(m) if m.opcode == Opcode::OK => Ok(c),
        Ok(m) if m.opcode == Opcode::REFUSED => Err(m.body),
        Ok(m) => Err(format!("vold answered {:?}: {}", m.opcode, m.body)),
        Err(e) => Err(format!("vold does not answer: {e}")),
    }
}

/// Why [`get_config`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetError {
    /// vold does not answer.
    Gone(String),
    /// vold answered with an error, or with a description that does not
    /// parse.
    Failed(String),
}

/// The whole configuration, one record type per request (each answer
/// must fit in one message).
pub fn get_config(c: &mut Client) -> Result<Config, GetError> {
    let mut all = String::new();
    for k in [Kind::Subdisk, Kind::Plex, Kind::Volume] {
        let mut ask = k.keyword().to_string();
        loop {
            let body = match c.call(Opcode::GET, &ask) {
                Ok(m) if m.opcode == Opcode::OK => m.body,
                Ok(m) => return Err(GetError::Failed(m.body)),
                Err(e) => return Err(GetError::Gone(format!("vold does not answer: {e}"))),
            };
            all.push_str(&body);
            let Some(part) = body.strip_suffix(MORE) else {
                break;
            };
            let last = text::parse(part)
                .ok()
                .and_then(|r| r.last().map(|d| d.name.clone()));
            match last {
                Some(name) => ask = format!("{} after={name}", k.keyword()),
                None => {
                    return Err(GetError::Failed(
                        "vold cut a listing short of any record".into(),
                    ))
                }
            }
        }
    }
    text::parse_config(&all)
        .map_err(|e| GetError::Failed(format!("vold sent a bad description: {e}")))
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed as generation N.
    Committed(u64),
    /// Committed before (a retry after a lost reply), as generation N.
    Already(u64),
}

/// Why one attempt stopped.
enum Stop {
    /// For good: the message.
    Fail(String),
    /// Try again after a pause.
    Retry(String),
}

fn one_attempt(c: &mut Client, txid: &Txid, ops: &[Op]) -> Result<Outcome, Stop> {
    let id = hex(txid);
    let call = |c: &mut Client, op, body: &str| {
        c.call(op, body).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidInput => Stop::Fail(e.to_string()),
            _ => Stop::Retry(e.to_string()),
        })
    };
    let gen = |m: &Message| m.body.trim().parse().unwrap_or(0);
    loop {
        let m = call(c, Opcode::BEGIN, &id)?;
        match m.opcode {
            Opcode::OK => break,
            Opcode::ALREADY => return Ok(Outcome::Already(gen(&m))),
            Opcode::BUSY => std::thread::sleep(Duration::from_millis(100)),
            Opcode::REFUSED => return Err(Stop::Retry(m.body)),
            _ => return Err(Stop::Fail(m.body)),
        }
    }
    for op in ops {
        let m = call(c, Opcode::OP, &op.encode())?;
        match m.opcode {
            Opcode::OK => {}
            Opcode::REFUSED => return Err(Stop::Retry(m.body)),
            _ => {
                let _ = c.call(Opcode::ABORT, "");
                return Err(Stop::Fail(m.body));
            }
        }
    }
    let m = call(c, Opcode::COMMIT, &id)?;
    match m.opcode {
        Opcode::COMMITTED => Ok(Outcome::Committed(gen(&m))),
        Opcode::ALREADY => Ok(Outcome::Already(gen(&m))),
        Opcode::REFUSED => Err(Stop::Retry(m.body)),
        Opcode::ABORTED => Err(Stop::Fail(format!(
            "the change breaks the configuration's rules:\n{}",
            m.body
        ))),
        _ => Err(Stop::Fail(m.body)),
    }
}

/// Runs `ops` as one transaction through the request point: fails at once
/// if vold is not enabled now, else retries as the module says.
pub fn transact(request: &Path, who: &str, ops: &[Op]) -> Result<Outcome, String> {
    let txid = random_id().map_err(|e| format!("/dev/urandom: {e}"))?;
    let mut conn = Some(connect_enabled(request, who)?);
    let limit = std::env::var(RETRY_LIMIT_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(RETRY_LIMIT, Duration::from_secs);
    let interval = std::env::var(RETRY_INTERVAL_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(RETRY_INTERVAL, Duration::from_millis);
    let deadline = Instant::now() + limit;
    loop {
        let why = match conn.as_mut().map(|c| one_attempt(c, &txid, ops)) {
            Some(Ok(outcome)) => return Ok(outcome),
            Some(Err(Stop::Fail(e))) => return Err(e),
            Some(Err(Stop::Retry(why))) => why,
            None => "not connected".into(),
        };
        if Instant::now() >= deadline {
            return Err(format!("gave up after {} s: {why}", limit.as_secs()));
        }
        eprintln!("{who}: {why}; retrying");
        std::thread::sleep(interval);
        conn = connect_enabled(request, who).ok();
    }
}
