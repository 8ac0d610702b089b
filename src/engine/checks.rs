//! What the kernel knows about one connection, asked without waiting: the handshake as it saw
//! it (TCP_INFO), whether written bytes were acknowledged (SIOCOUTQ), and the options that let
//! the kernel probe a path for us (keepalive, TCP_USER_TIMEOUT).
//!
//! These back the end-to-end checks: the connect time measured where the kernel sees the
//! handshake (not when our loop got round to it), SYN retransmits read rather than guessed from
//! times, and the end-of-hold probe. Each is one system call on a socket the engine owns.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use crate::config::Keepalive;

/// The handshake as the kernel saw it, read right after it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Handshake {
    /// The kernel's RTT sample from the SYN-ACK (the first sample, so the smoothed RTT).
    pub(super) rtt: Duration,
    /// Segments retransmitted so far: after the handshake, the SYNs sent again.
    pub(super) retransmits: u32,
    /// The TCP state (`TCP_ESTABLISHED`, `TCP_SYN_SENT`, ...).
    pub(super) state: u8,
}

/// `TCP_ESTABLISHED` (linux/tcp_states.h).
pub(super) const TCP_ESTABLISHED: u8 = 1;
/// `TCP_SYN_SENT`: the handshake is still in progress.
pub(super) const TCP_SYN_SENT: u8 = 2;
/// `TCP_CLOSE_WAIT`: established, and the peer has already sent its FIN.
pub(super) const TCP_CLOSE_WAIT: u8 = 8;

impl Handshake {
    /// The handshake completed (the peer may already have closed its side).
    pub(super) fn completed(&self) -> bool {
        self.state == TCP_ESTABLISHED || self.state == TCP_CLOSE_WAIT
    }
}

/// Reads TCP_INFO: the handshake as the kernel saw it.
pub(super) fn handshake(socket: &impl AsRawFd) -> io::Result<Handshake> {
    let info = tcp_info(socket)?;
    Ok(Handshake {
        rtt: Duration::from_micros(u64::from(info.tcpi_rtt)),
        retransmits: info.tcpi_total_retrans,
        state: info.tcpi_state,
    })
}

/// The socket's TCP_INFO.
fn tcp_info(socket: &impl AsRawFd) -> io::Result<libc::tcp_info> {
    // SAFETY: tcp_info is plain old data (integers only), so all-zero bytes are a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the descriptor is a socket owned by the caller for the duration of the call;
    // `info` and `len` are live, writable and `len` holds the buffer's size, which the kernel
    // never exceeds.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

/// Bytes written on the socket and not yet acknowledged by the peer (SIOCOUTQ).
pub(super) fn unacknowledged(socket: &impl AsRawFd) -> io::Result<u32> {
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int through the pointer, which points to a live
    // c_int; the descriptor is a socket owned by the caller.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(queued.max(0) as u32)
}

/// Whether the peer answered a probe written `since` ago: every byte written is acknowledged
/// (SIOCOUTQ is 0); or nothing is in flight, the rest waits for a receive window the peer keeps
/// closed (it does not read), and the peer acknowledged one of the kernel's window probes after
/// the probe was written (TCP_INFO's `tcpi_last_ack_recv`, in ms, with a few ms of slack for
/// the kernel's clock ticks). A dead path acknowledges neither.
pub(super) fn probe_answered(socket: &impl AsRawFd, since: Duration) -> io::Result<bool> {
    if unacknowledged(socket)? == 0 {
        return Ok(true);
    }
    let info = tcp_info(socket)?;
    let ack_age_ms = u128::from(info.tcpi_last_ack_recv);
    Ok(info.tcpi_unacked == 0 && ack_age_ms + 5 < since.as_millis())
}

/// Turns on keepalive with `k`, and a matching TCP_USER_TIMEOUT.
pub(super) fn set_keepalive(socket: &socket2::Socket, k: &Keepalive) -> io::Result<()> {
    let params = socket2::TcpKeepalive::new()
        .with_time(k.idle)
        .with_interval(k.interval)
        .with_retries(k.count);
    socket.set_tcp_keepalive(&params)?;
    socket.set_tcp_user_timeout(Some(k.give_up_after()))
}

/// Sets TCP_USER_TIMEOUT: written data unacknowledged for longer ends the connection
/// (ETIMEDOUT).
pub(super) fn set_user_timeout(
    socket: &impl std::os::fd::AsFd,
    timeout: Duration,
) -> io::Result<()> {
    socket2::SockRef::from(socket).set_tcp_user_timeout(Some(timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_kernel_answers_about_a_loopback_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let h = handshake(&client).unwrap();
        assert_eq!(h.retransmits, 0);
        assert!(h.completed());
        assert!(h.rtt < Duration::from_secs(1), "{h:?}");
        client.write_all(b"x").unwrap();
        // Loopback acknowledges at once.
        let start = std::time::Instant::now();
        while unacknowledged(&client).unwrap() > 0 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(unacknowledged(&client).unwrap(), 0);
        set_user_timeout(&client, Duration::from_secs(3)).unwrap();
        let sock = socket2::Socket::from(client);
        set_keepalive(
            &sock,
            &Keepalive {
                idle: Duration::from_secs(30),
                interval: Duration::from_secs(5),
                count: 3,
            },
        )
        .unwrap();
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(30));
        assert_eq!(
            sock.tcp_user_timeout().unwrap(),
            Some(Duration::from_secs(45))
        );
        drop(server);
    }
}
