//! [`ProtoApp`]: `lock-proto` as the runtime's [`App`], over a radio
//! [`Transport`] and an [`Entropy`] source, its records in the lock's store.

use lock_core::{Link, Notice, People, PersonNumber, Reply};
use lock_hal::{Entropy, ErrorKind, ErrorType, Received, Transport};
use lock_proto::{
    BOOT_SLOT, FrameError, LOG_PAGE, LoggedRecord, MAX_FRAME, Output, Outputs, PEOPLE_PAGE,
    PersonInfo, ProtoChange, ProtoRefusal, ProtoSnapshot, Protocol, Query, RECORD_MAX,
    VisitorCodeVerifier, boot_record, read_boot_record,
};

use crate::app::{App, AppContext, AppEvent, AppIdentity};
use crate::link::{FrameVerdict, LINK_PAIRING_GRACE, LinkGuard};
use crate::store::{APP_RECORD_MAX, StateStore, StoreError, StoreErrorKind};
use crate::update::{NoUpdates, Updater};

const _: () = assert!(RECORD_MAX <= APP_RECORD_MAX);
const _: () = assert!(lock_proto::APP_SLOTS_USED <= crate::store::APP_SLOTS);
const _: () = assert!(lock_proto::MAX_PAIRINGS <= lock_core::WATCHED_ENDS);
const _: () = assert!(LOG_PAGE <= crate::store::LOG_PAGE);
// A link that is pairing is not ended while its exchange may still run.
const _: () = assert!(LINK_PAIRING_GRACE.millis() >= lock_proto::PAIRING_TIMEOUT.millis());

/// Why [`ProtoApp`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtoAppError {
    /// The radio transport failed.
    Transport(ErrorKind),
    /// The entropy source failed: no identity or challenge could be made.
    Entropy,
    /// The store failed to read or write an app record.
    Store(StoreErrorKind),
    /// A stored app record cannot be read back, or the records do not make a
    /// protocol state (S-ST-3): the app side stays dormant until a factory
    /// reset.
    Records,
    /// Not started, or dormant after an error above.
    Dormant,
    /// An answer did not fit a frame.
    Encode,
}

impl lock_hal::Error for ProtoAppError {
    fn kind(&self) -> ErrorKind {
        match self {
            ProtoAppError::Transport(kind) => *kind,
            ProtoAppError::Entropy | ProtoAppError::Store(_) => ErrorKind::Device,
            ProtoAppError::Records | ProtoAppError::Encode => ErrorKind::Protocol,
            ProtoAppError::Dormant => ErrorKind::Other,
        }
    }
}

fn store_error<E: StoreError>(e: E) -> ProtoAppError {
    ProtoAppError::Store(e.kind())
}

/// The app protocol of `lock-proto` ([`Protocol`]) as the runtime's
/// [`App`]: frames from the [`Transport`] go through the protocol's checks
/// (S-PR-2, S-PR-3) before anything of them reaches the lock; what the
/// protocol persists (identity, pairings, counters) goes to the lock's store
/// as app records before anything after it is sent.
///
/// After a failed write the protocol's state is read back from the store
/// before the next frame, so a counter reservation that did not reach flash
/// is never used (S-PR-2: no nonce twice).
///
/// S-PR-7: it ends a radio link that holds the radio hostage
/// ([`LinkGuard`]): one with no authenticated frame within
/// [`LINK_AUTH_TIMEOUT`](crate::LINK_AUTH_TIMEOUT) of its start, or whose
/// frames are rate-limited ([`FrameError::RateLimited`]), through
/// [`Transport::disconnect`]. A frame sealed under a stored pairing (taken
/// or refused) proves the link; one the protocol took while pairing mode is
/// open gives it the pairing exchange's time. Sending never waits on the
/// link: a frame the transport cannot take is lost, as in the air, and what
/// follows it still happens.
pub struct ProtoApp<T, E, U = NoUpdates> {
    transport: T,
    entropy: E,
    /// The board's end of a firmware update (S-UP-4).
    updater: U,
    protocol: Option<Protocol>,
    /// The store's records must be read again before the next frame.
    reload: bool,
    frame: [u8; MAX_FRAME],
    received: Option<Received>,
    /// S-PR-7: when the current radio link is ended.
    link: LinkGuard,
    /// The pairing the request being answered came from.
    reply_to: Option<u16>,
    /// The protocol's outputs being carried out. They wait here rather than
    /// in the futures that carry them out, which would otherwise hold
    /// several copies of them across their awaits.
    outputs: Outputs,
    /// This start's number, as written to flash (S-HW-4); 0 before the
    /// first.
    boot: u32,
    /// The lock's visitor-code verifier is out of date (S-VC-5): the
    /// protocol's issuers changed, or its records were read again.
    visitor_codes_changed: bool,
    /// When the frame being handled came.
    now: lock_core::Instant,
}

impl<T: Transport, E: Entropy> ProtoApp<T, E> {
    /// The app side over `transport` (which says whether a frame came from
    /// the door or from afar, [`Transport::last_was_remote`]), drawing keys
    /// and challenges from `entropy`. Dormant until the runtime starts it.
    /// It takes no firmware updates ([`NoUpdates`]).
    pub fn new(transport: T, entropy: E) -> ProtoApp<T, E> {
        ProtoApp::with_updater(transport, entropy, NoUpdates)
    }
}

impl<T: Transport, E: Entropy, U: Updater> ProtoApp<T, E, U> {
    /// [`ProtoApp::new`] for a board that takes firmware updates: an
    /// administrator's update steps go to `updater` (S-UP-4).
    pub fn with_updater(transport: T, entropy: E, updater: U) -> ProtoApp<T, E, U> {
        ProtoApp {
            transport,
            entropy,
            updater,
            protocol: None,
            reload: false,
            frame: [0; MAX_FRAME],
            received: None,
            link: LinkGuard::new(),
            reply_to: None,
            outputs: Outputs::new(),
            boot: 0,
            visitor_codes_changed: false,
            now: lock_core::Instant::ZERO,
        }
    }

    /// S-PR-7: where the current radio link stands.
    pub fn link(&self) -> &LinkGuard {
        &self.link
    }

    /// The protocol, once started: its pairings, identity code and lock id.
    pub fn protocol(&self) -> Option<&Protocol> {
        self.protocol.as_ref()
    }

    /// S-HW-4 (per-boot separation): the lock's boot count goes up by one
    /// on flash, and the entropy source mixes it into everything it hands
    /// out from now on, before the identity or any challenge is drawn. The
    /// count also goes on across a factory reset, which erases its record:
    /// the one in RAM is the floor. A record that cannot be read is a store
    /// that cannot be trusted (S-ST-3): the app side stays dormant.
    async fn count_boot<S: StateStore>(&mut self, store: &mut S) -> Result<(), ProtoAppError> {
        let mut buf = [0u8; RECORD_MAX];
        let stored = match store
            .read_app_record(BOOT_SLOT, &mut buf)
            .await
            .map_err(store_error)?
        {
            Some(n) => {
                let bytes = buf.get(..n).ok_or(ProtoAppError::Records)?;
                read_boot_record(bytes).map_err(|_| ProtoAppError::Records)?
            }
            None => 0,
        };
        let boot = stored.max(self.boot).wrapping_add(1);
        let record = boot_record(boot).map_err(|_| ProtoAppError::Encode)?;
        store
            .write_app_record(BOOT_SLOT, Some(&record))
            .await
            .map_err(store_error)?;
        self.boot = boot;
        self.entropy.set_boot(boot);
        Ok(())
    }

    /// Reads the protocol's records; makes an identity on first start.
    async fn load<S: StateStore>(&mut self, store: &mut S) -> Result<(), ProtoAppError> {
        self.protocol = None;
        self.reload = true;
        let mut snapshot = ProtoSnapshot::default();
        let mut damaged = false;
        store
            .read_app_records(&mut |slot, record| {
                let applied = match record {
                    Some(bytes) => snapshot.add_record(slot, bytes),
                    None => snapshot.remove_record(slot),
                };
                damaged |= applied.is_err();
            })
            .await
            .map_err(store_error)?;
        if damaged {
            return Err(ProtoAppError::Records);
        }
        let protocol = if snapshot.identity.is_some() {
            Protocol::restore(&snapshot).map_err(|_| ProtoAppError::Records)?
        } else if snapshot.pairings.is_empty() {
            // First start (or a reset cut before the new identity was
            // written): make one.
            let identity = lock_proto::Identity::generate(&mut self.entropy)
                .map_err(|_| ProtoAppError::Entropy)?;
            write(store, &ProtoChange::Identity(identity.clone())).await?;
            Protocol::new(identity)
        } else {
            // Pairings without the identity they were made with.
            return Err(ProtoAppError::Records);
        };
        self.protocol = Some(protocol);
        self.reload = false;
        self.visitor_codes_changed = true;
        Ok(())
    }

    fn identity(&mut self) -> Result<AppIdentity<VisitorCodeVerifier>, ProtoAppError> {
        let protocol = self.protocol.as_ref().ok_or(ProtoAppError::Dormant)?;
        // Cannot overflow: one end per pairing, MAX_PAIRINGS of them.
        let window_ends = protocol
            .pairings()
            .filter_map(|p| p.validity.until)
            .take(lock_core::WATCHED_ENDS)
            .collect();
        let visitor_codes = protocol.visitor_code_verifier();
        self.visitor_codes_changed = false;
        Ok(AppIdentity {
            verification_code: Some(protocol.identity_code()),
            visitor_codes,
            window_ends,
        })
    }

    /// Carries out the outputs in [`ProtoApp::outputs`] in order, each
    /// persisted change on flash before anything after it happens, and
    /// empties it. Returns what the lock must hear. `people` answers a query
    /// for them. (The outputs are not an argument: the future would hold
    /// them besides.)
    async fn run<S: StateStore>(
        &mut self,
        people: Option<&People>,
        store: &mut S,
    ) -> Result<Option<AppEvent>, ProtoAppError> {
        let mut event = None;
        let mut next = 0;
        while let Some(output) = self.outputs.get(next) {
            next += 1;
            match *output {
                Output::Persist(_) | Output::Send(_) => self.carry_out(next - 1, store).await?,
                Output::Query { from, query } => {
                    // The answer (counter reservations and frames) is carried
                    // out next, then what followed the query.
                    let answer = self.answer(from, query, people, store).await?;
                    self.answer_next(answer, next)?;
                    next = 0;
                }
                Output::Update { from, ref step } => {
                    // S-UP-4: the step passed the protocol's checks (an
                    // administrator's, freshly challenged): the board's
                    // receiver carries it out, and the answer, carrying the
                    // next step's challenge, goes out next.
                    let step = step.clone();
                    let state = self.updater.step(&step).await;
                    let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
                    let answer = protocol
                        .encode_update(self.now, from, state, &mut self.entropy)
                        .map_err(|_| ProtoAppError::Encode)?;
                    self.answer_next(answer, next)?;
                    next = 0;
                }
                Output::Request { from, request } => {
                    self.reply_to = Some(from);
                    event = Some(AppEvent::Request(request));
                }
                Output::Changed(change) => event = Some(AppEvent::Changed(change)),
                Output::VerificationCode(code) => event = Some(AppEvent::PairingCode(code)),
                Output::VisitorCodes => self.visitor_codes_changed = true,
            }
        }
        self.outputs.clear();
        Ok(event)
    }

    /// Puts `answer` before the outputs from `next` on, to be carried out
    /// from the start.
    fn answer_next(&mut self, answer: Outputs, next: usize) -> Result<(), ProtoAppError> {
        let rest = self.outputs.get(next..).unwrap_or_default();
        let mut outputs = answer;
        outputs
            .extend_from_slice(rest)
            .map_err(|_| ProtoAppError::Encode)?;
        self.outputs = outputs;
        Ok(())
    }

    /// Persists or sends output `n`.
    async fn carry_out<S: StateStore>(
        &mut self,
        n: usize,
        store: &mut S,
    ) -> Result<(), ProtoAppError> {
        match self.outputs.get(n) {
            Some(Output::Persist(change)) => {
                if let Err(e) = write(store, change).await {
                    // Memory is ahead of flash now: read flash back before
                    // the next frame.
                    self.protocol = None;
                    self.reload = true;
                    return Err(e);
                }
                Ok(())
            }
            Some(Output::Send(frame)) => {
                // S-PR-7: the transport never waits for the phone; a frame
                // it could not take is lost as in the air (the phone asks
                // again), and what follows it still happens.
                if let Err(e) = self.transport.send(frame).await {
                    warn!("app frame not sent: {:?}", lock_hal::Error::kind(&e));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Answers an administrator's question from the people table or the
    /// store's log (R-APP-3, R-APP-6).
    async fn answer<S: StateStore>(
        &mut self,
        from: u16,
        query: Query,
        people: Option<&People>,
        store: &mut S,
    ) -> Result<Outputs, ProtoAppError> {
        let encoded = match query {
            Query::People { after } => {
                let people = people.ok_or(ProtoAppError::Dormant)?;
                let first = after.map_or(1, |n| n.get().saturating_add(1));
                let mut page: heapless::Vec<PersonInfo, PEOPLE_PAGE> = heapless::Vec::new();
                let mut more = false;
                for person in (first..=u8::MAX)
                    .map_while(PersonNumber::new)
                    .filter_map(|n| people.get(n))
                {
                    if page.push(PersonInfo::of(person)).is_err() {
                        more = true;
                        break;
                    }
                }
                let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
                protocol.encode_people(from, &page, more)
            }
            Query::Log { before } => {
                let page = store.log_page(before).await.map_err(store_error)?;
                let records: heapless::Vec<LoggedRecord, LOG_PAGE> = page
                    .iter()
                    .map(|&(seq, record)| LoggedRecord { seq, record })
                    .collect();
                let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
                protocol.encode_log(from, &records, records.is_full())
            }
        };
        encoded.map_err(|_| ProtoAppError::Encode)
    }

    async fn ready<S: StateStore>(&mut self, store: &mut S) -> Result<(), ProtoAppError> {
        if self.reload {
            self.load(store).await?;
        }
        Ok(())
    }
}

/// S-PR-7: what a frame's outcome shows about its link. With pairing mode
/// closed only a stored pairing's key opens a frame (closing it drops any
/// exchange in progress), so a frame taken or refused proves the link; with
/// it open the frame may be a stranger's pairing traffic, which only buys
/// the exchange its time. A key outside its window (an expired visitor's,
/// `refusal`) proves nothing worth keeping the radio for: such a link is
/// ended at the limit like a silent one.
fn verdict(
    handled: &Result<Outputs, FrameError>,
    refusal: Option<ProtoRefusal>,
    pairing_open: bool,
) -> FrameVerdict {
    let outside = refusal == Some(ProtoRefusal::OutsideValidity);
    match handled {
        Err(FrameError::RateLimited) => FrameVerdict::RateLimited,
        Ok(_) | Err(FrameError::Refused(_)) if outside => FrameVerdict::Unproven,
        Ok(_) | Err(FrameError::Refused(_)) if pairing_open => FrameVerdict::Pairing,
        Ok(_) | Err(FrameError::Refused(_)) => FrameVerdict::Authenticated,
        Err(_) => FrameVerdict::Unproven,
    }
}

/// Writes one change's app records, in order (a pairing's counter record
/// before its key record, S-ST-6). The encoded records are wiped when
/// dropped.
async fn write<S: StateStore>(store: &mut S, change: &ProtoChange) -> Result<(), ProtoAppError> {
    let writes = change.records().map_err(|_| ProtoAppError::Records)?;
    for (slot, record) in writes.iter() {
        store
            .write_app_record(*slot, record.as_deref())
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

impl<T: Transport, E: Entropy, U: Updater> ErrorType for ProtoApp<T, E, U> {
    type Error = ProtoAppError;
}

impl<T: Transport, E: Entropy, U: Updater> App for ProtoApp<T, E, U> {
    type VisitorCodes = VisitorCodeVerifier;

    async fn start<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<VisitorCodeVerifier>, ProtoAppError> {
        self.count_boot(store).await?;
        self.load(store).await?;
        // The lock restored its state and the app side its records: a new
        // image on trial has passed its self-check (S-UP-3).
        self.updater.booted().await;
        self.identity()
    }

    async fn factory_reset<S: StateStore>(
        &mut self,
        store: &mut S,
    ) -> Result<AppIdentity<VisitorCodeVerifier>, ProtoAppError> {
        self.received = None;
        self.reply_to = None;
        // The store erased every app record: start as a new lock does.
        self.start(store).await
    }

    async fn wait(&mut self) -> Result<(), ProtoAppError> {
        if self.received.is_none() {
            let received = self
                .transport
                .receive(&mut self.frame)
                .await
                .map_err(|e| ProtoAppError::Transport(lock_hal::Error::kind(&e)))?;
            self.received = Some(received);
        }
        Ok(())
    }

    fn next_deadline(&self) -> Option<lock_core::Instant> {
        self.link.deadline()
    }

    /// R-NRG-3: the transport advertises or goes quiet.
    fn listen(&mut self, on: bool) {
        self.transport.listen(on);
    }

    /// S-PR-7: ends a link that had its time without authenticating.
    fn tick(&mut self, now: lock_core::Instant) {
        if self.link.expired(now) {
            warn!("app link ended: not authenticated in time (S-PR-7)");
            self.transport.disconnect();
        }
    }

    /// Hands a received frame to the protocol with the link it came by. A
    /// frame dropped before dispatch (S-PR-2) tells no one, and never counts
    /// with the lock's failures (S-BF-1).
    async fn process<S: StateStore>(
        &mut self,
        cx: &AppContext<'_>,
        store: &mut S,
    ) -> Result<Option<AppEvent>, ProtoAppError> {
        let n = match self.received.take() {
            None => return Ok(None),
            Some(Received::LinkStarted) => {
                self.link.started(cx.now);
                return Ok(None);
            }
            // What still arrives over a link the lock ended is dropped.
            Some(Received::Frame(_)) if !self.link.takes_frames() => return Ok(None),
            Some(Received::Frame(n)) => n,
        };
        self.ready(store).await?;
        self.now = cx.now;
        let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
        let bytes = self.frame.get(..n).ok_or(ProtoAppError::Records)?;
        let link = if self.transport.last_was_remote() {
            Link::Remote
        } else {
            Link::Bluetooth
        };
        let pairing = protocol.pairing_window();
        let handled = protocol.handle_frame(cx.now, cx.clock, link, bytes, &mut self.entropy);
        let refusal = protocol.last_refusal();
        if self.link.frame(cx.now, verdict(&handled, refusal, pairing)) {
            warn!("app link ended: rate-limited frames (S-PR-7)");
            self.transport.disconnect();
        }
        match handled {
            Ok(outputs) => {
                self.outputs = outputs;
                self.run(Some(cx.people), store).await
            }
            Err(FrameError::Entropy) => Err(ProtoAppError::Entropy),
            // Dropped before dispatch (S-PR-2): nothing to tell anyone. A
            // wrong tag presents no credential and never counts with the
            // lock's failures (S-BF-1).
            Err(_) => Ok(None),
        }
    }

    /// The protocol's verifier (S-VC-5), once its issuers changed or its
    /// records were read again; `None` while dormant. A change reaches the
    /// verifier only once its record is written (`Output::VisitorCodes`
    /// follows its `Persist`); after a failed write, once the records are
    /// read again, before the next frame.
    fn take_visitor_codes(&mut self) -> Option<VisitorCodeVerifier> {
        if !self.visitor_codes_changed {
            return None;
        }
        let protocol = self.protocol.as_ref()?;
        self.visitor_codes_changed = false;
        Some(protocol.visitor_code_verifier())
    }

    async fn notify<S: StateStore>(
        &mut self,
        notice: &Notice,
        store: &mut S,
    ) -> Result<(), ProtoAppError> {
        self.ready(store).await?;
        let Some(protocol) = self.protocol.as_ref() else {
            return Err(ProtoAppError::Dormant);
        };
        let mut recipients: heapless::Vec<u16, { lock_proto::MAX_PAIRINGS }> = heapless::Vec::new();
        for id in protocol.notice_recipients() {
            // Cannot fail: at most MAX_PAIRINGS pairings.
            let _ = recipients.push(id);
        }
        for to in recipients {
            let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
            // A pairing revoked meanwhile has no keys left: skip it.
            if let Ok(outputs) = protocol.encode_notice(to, *notice) {
                self.outputs = outputs;
                self.run(None, store).await?;
            }
        }
        Ok(())
    }

    async fn reply<S: StateStore>(
        &mut self,
        reply: &Reply,
        store: &mut S,
    ) -> Result<(), ProtoAppError> {
        let Some(to) = self.reply_to.take() else {
            return Ok(());
        };
        self.ready(store).await?;
        let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
        match protocol.encode_reply(to, *reply) {
            Ok(outputs) => {
                self.outputs = outputs;
                self.run(None, store).await.map(|_| ())
            }
            // The pairing went while the lock decided (it revoked itself).
            Err(_) => Ok(()),
        }
    }

    async fn pairing(&mut self, open: bool) -> Result<(), ProtoAppError> {
        if let Some(protocol) = self.protocol.as_mut() {
            protocol.set_pairing_window(open);
        }
        Ok(())
    }

    async fn confirm_pairing<S: StateStore>(
        &mut self,
        now: lock_core::Instant,
        store: &mut S,
    ) -> Result<Option<AppEvent>, ProtoAppError> {
        self.ready(store).await?;
        let protocol = self.protocol.as_mut().ok_or(ProtoAppError::Dormant)?;
        match protocol.confirm_at_lock(now) {
            Ok(outputs) => {
                self.outputs = outputs;
                self.run(None, store).await
            }
            // The exchange timed out or the window closed: nothing to store.
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::vec::Vec;

    use lock_core::Change;
    use lock_hal::{Entropy, ErrorType, Received, Transport};

    use super::ProtoApp;
    use crate::app::App;
    use crate::store::{MemoryStore, StateStore};

    /// What the entropy source was told and asked, in order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Call {
        Boot(u32),
        Fill,
    }

    struct Recorder<'a>(&'a RefCell<Vec<Call>>);

    impl ErrorType for Recorder<'_> {
        type Error = core::convert::Infallible;
    }

    impl Entropy for Recorder<'_> {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), Self::Error> {
            self.0.borrow_mut().push(Call::Fill);
            buf.fill(0x5a);
            Ok(())
        }
        fn set_boot(&mut self, boot: u32) {
            self.0.borrow_mut().push(Call::Boot(boot));
        }
    }

    /// A radio that never hears anything.
    struct Silent;

    impl ErrorType for Silent {
        type Error = lock_hal::ErrorKind;
    }

    impl Transport for Silent {
        async fn receive(&mut self, _buf: &mut [u8]) -> Result<Received, Self::Error> {
            core::future::pending().await
        }
        async fn send(&mut self, _frame: &[u8]) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    fn stored_boot(store: &mut MemoryStore) -> Option<u32> {
        let mut buf = [0u8; lock_proto::RECORD_MAX];
        let n = embassy_futures::block_on(store.read_app_record(lock_proto::BOOT_SLOT, &mut buf))
            .ok()??;
        lock_proto::read_boot_record(buf.get(..n)?).ok()
    }

    #[test]
    fn s_hw_4_every_start_counts_a_boot_on_flash_before_drawing_anything() {
        let calls = RefCell::new(Vec::new());
        let mut store = MemoryStore::new();
        for expected in 1..=3u32 {
            calls.borrow_mut().clear();
            // A new start of the lock: a new app side over the same store.
            let mut app = ProtoApp::new(Silent, Recorder(&calls));
            assert!(embassy_futures::block_on(app.start(&mut store)).is_ok());
            assert_eq!(stored_boot(&mut store), Some(expected));
            let calls = calls.borrow();
            assert_eq!(calls.first(), Some(&Call::Boot(expected)), "{calls:?}");
            if expected == 1 {
                // The first start drew the identity, after the count.
                assert!(calls.contains(&Call::Fill));
            }
        }
        // A factory reset erases the record; the count goes on from RAM, so
        // no later boot repeats an earlier one's number.
        let mut app = ProtoApp::new(Silent, Recorder(&calls));
        assert!(embassy_futures::block_on(app.start(&mut store)).is_ok());
        assert!(embassy_futures::block_on(store.apply(&Change::FactoryReset)).is_ok());
        assert_eq!(stored_boot(&mut store), None);
        calls.borrow_mut().clear();
        assert!(embassy_futures::block_on(app.factory_reset(&mut store)).is_ok());
        assert_eq!(stored_boot(&mut store), Some(5));
        assert_eq!(calls.borrow().first(), Some(&Call::Boot(5)));
    }

    #[test]
    fn s_hw_4_an_unreadable_boot_count_leaves_the_app_side_dormant() {
        let calls = RefCell::new(Vec::new());
        let mut store = MemoryStore::new();
        let damaged = [
            lock_proto::RECORD_VERSION,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
            0xff,
        ];
        assert!(
            embassy_futures::block_on(
                store.write_app_record(lock_proto::BOOT_SLOT, Some(&damaged))
            )
            .is_ok()
        );
        let mut app = ProtoApp::new(Silent, Recorder(&calls));
        assert!(embassy_futures::block_on(app.start(&mut store)).is_err());
        assert!(
            calls.borrow().is_empty(),
            "nothing drawn: {:?}",
            calls.borrow()
        );
    }
}
