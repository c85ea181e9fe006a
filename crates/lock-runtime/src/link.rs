//! [`LinkGuard`]: when the app side ends a radio link (S-PR-7). Sans-IO:
//! the app side tells it when a link starts and what each frame proved,
//! asks it for its deadline, and ends the link when it says so.

use lock_core::{Duration, Instant};

/// S-PR-7: how long a new link may go without an authenticated frame before
/// it is ended. A phone that knows the lock connects, asks for a challenge
/// and sends its command within a second or two; ten seconds leave room for
/// a slow connection set-up (service discovery, MTU exchange) and cost an
/// owner at most that long behind a stranger's silent connection.
pub const LINK_AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// S-PR-7: how long a link that is pairing may wait for its next pairing
/// frame: the person compares the code the lock speaks with the phone's and
/// confirms on both, which takes longer than [`LINK_AUTH_TIMEOUT`]. As long
/// as lock-proto's whole exchange may take (`PAIRING_TIMEOUT`, checked where
/// the two meet); once paired, the phone's first sealed frame proves it.
pub const LINK_PAIRING_GRACE: Duration = Duration::from_secs(60);

/// What one received frame showed about the link it came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameVerdict {
    /// Sealed under a stored pairing and fresh (taken or refused): the link
    /// carries a phone the lock knows.
    Authenticated,
    /// Pairing traffic the protocol took while pairing mode is open.
    Pairing,
    /// Nothing proven: malformed, unknown, a bad tag, a replay.
    Unproven,
    /// Over a rate limit (lock-proto's `FrameError::RateLimited`): failed
    /// authentications, pairing attempts or refusals past their budget.
    RateLimited,
}

/// Where the current link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// The transport has not reported a link (one that never does, a relay
    /// socket, is never ended by the lock).
    Unknown,
    /// Started, and must prove itself by this instant.
    Unproven {
        /// When it is ended unless an authenticated frame came first.
        until: Instant,
    },
    /// An authenticated frame came over it: it stays as long as the phone
    /// wants, unless its frames are rate-limited.
    Authenticated,
    /// Ended by the lock: what still arrives over it is dropped unread until
    /// the next link starts.
    Ended,
}

/// S-PR-7: the radio cannot be held hostage. Decides when the app side ends
/// the current link: one with no authenticated frame within
/// [`LINK_AUTH_TIMEOUT`] of its start (pairing traffic buys
/// [`LINK_PAIRING_GRACE`] from each pairing frame), and one whose frames are
/// rate-limited, whatever it proved before. An authenticated link stays.
///
/// Calling order: [`LinkGuard::started`] when the transport reports a new
/// link; [`LinkGuard::frame`] for each frame after it, with what the frame
/// proved; [`LinkGuard::expired`] whenever the clock passes
/// [`LinkGuard::deadline`] (a spurious call does nothing). When either
/// returns `true` the caller ends the link (`Transport::disconnect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkGuard {
    state: LinkState,
}

impl Default for LinkGuard {
    fn default() -> Self {
        LinkGuard::new()
    }
}

impl LinkGuard {
    /// No link yet.
    pub const fn new() -> LinkGuard {
        LinkGuard {
            state: LinkState::Unknown,
        }
    }

    /// Where the current link stands.
    pub fn state(&self) -> LinkState {
        self.state
    }

    /// A new link started at `now`: it has [`LINK_AUTH_TIMEOUT`] to prove
    /// itself.
    pub fn started(&mut self, now: Instant) {
        self.state = LinkState::Unproven {
            until: now + LINK_AUTH_TIMEOUT,
        };
    }

    /// Whether a frame that came now should be handled at all: not one over
    /// a link the lock has ended.
    pub fn takes_frames(&self) -> bool {
        self.state != LinkState::Ended
    }

    /// A frame came over the link at `now` and showed `verdict`. `true`:
    /// end the link now.
    pub fn frame(&mut self, now: Instant, verdict: FrameVerdict) -> bool {
        match (self.state, verdict) {
            // Frames from a transport that reports no links: nothing to end
            // (the transport's `disconnect` would do nothing).
            (LinkState::Unknown, _) | (LinkState::Ended, _) => false,
            (_, FrameVerdict::RateLimited) => {
                self.state = LinkState::Ended;
                true
            }
            (_, FrameVerdict::Authenticated) => {
                self.state = LinkState::Authenticated;
                false
            }
            (LinkState::Unproven { until }, FrameVerdict::Pairing) => {
                self.state = LinkState::Unproven {
                    until: until.max(now + LINK_PAIRING_GRACE),
                };
                false
            }
            (_, FrameVerdict::Pairing | FrameVerdict::Unproven) => false,
        }
    }

    /// When [`LinkGuard::expired`] must be called: the unproven link's end.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            LinkState::Unproven { until } => Some(until),
            _ => None,
        }
    }

    /// The clock reached `now`. `true`: the link had its chance and is
    /// ended; end it now.
    pub fn expired(&mut self, now: Instant) -> bool {
        match self.state {
            LinkState::Unproven { until } if now >= until => {
                self.state = LinkState::Ended;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn s_pr_7_a_silent_link_is_ended_at_the_limit_and_not_before() {
        let mut guard = LinkGuard::new();
        guard.started(at(1_000));
        assert_eq!(guard.deadline(), Some(at(1_000) + LINK_AUTH_TIMEOUT));
        assert!(!guard.expired(at(10_999)));
        assert!(guard.expired(at(11_000)));
        assert_eq!(guard.state(), LinkState::Ended);
        assert_eq!(guard.deadline(), None);
        // Ended once; late calls and frames change nothing.
        assert!(!guard.expired(at(20_000)));
        assert!(!guard.takes_frames());
        assert!(!guard.frame(at(20_000), FrameVerdict::Authenticated));
        assert_eq!(guard.state(), LinkState::Ended);
    }

    #[test]
    fn s_pr_7_garbage_does_not_keep_a_link_and_rate_limited_frames_end_it() {
        let mut guard = LinkGuard::new();
        guard.started(at(0));
        assert!(!guard.frame(at(5_000), FrameVerdict::Unproven));
        assert_eq!(guard.deadline(), Some(at(0) + LINK_AUTH_TIMEOUT));
        assert!(guard.frame(at(6_000), FrameVerdict::RateLimited));
        assert_eq!(guard.state(), LinkState::Ended);
        // Even after it authenticated.
        guard.started(at(7_000));
        assert!(!guard.frame(at(7_500), FrameVerdict::Authenticated));
        assert!(guard.frame(at(8_000), FrameVerdict::RateLimited));
    }

    #[test]
    fn s_pr_7_an_authenticated_link_stays_and_the_next_link_starts_afresh() {
        let mut guard = LinkGuard::new();
        guard.started(at(0));
        assert!(!guard.frame(at(9_999), FrameVerdict::Authenticated));
        assert_eq!(guard.deadline(), None);
        assert!(!guard.expired(at(3_600_000)));
        assert_eq!(guard.state(), LinkState::Authenticated);
        guard.started(at(3_600_000));
        assert_eq!(guard.deadline(), Some(at(3_600_000) + LINK_AUTH_TIMEOUT));
    }

    #[test]
    fn s_pr_7_pairing_traffic_buys_the_exchange_its_time_and_no_more() {
        let mut guard = LinkGuard::new();
        guard.started(at(0));
        assert!(!guard.frame(at(2_000), FrameVerdict::Pairing));
        assert_eq!(guard.deadline(), Some(at(2_000) + LINK_PAIRING_GRACE));
        assert!(!guard.expired(at(61_999)));
        assert!(guard.expired(at(62_000)));
    }

    #[test]
    fn a_transport_that_reports_no_links_is_never_ended() {
        let mut guard = LinkGuard::new();
        assert!(guard.takes_frames());
        assert!(!guard.frame(at(0), FrameVerdict::RateLimited));
        assert!(!guard.frame(at(0), FrameVerdict::Unproven));
        assert_eq!(guard.deadline(), None);
        assert!(!guard.expired(at(u64::MAX)));
    }
}
