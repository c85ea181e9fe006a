//! The transport side of the BLE link, on the host: frames in and out
//! through the queues the GATT server serves.

use core::pin::pin;
use core::task::Poll;

use embassy_futures::select::{Either, select};
use embassy_futures::{block_on, poll_once};
use lock_ble::{
    AddressRotation, BleLink, BleTransport, FrameBuf, Inbound, MAX_FRAME, QUEUE, discard,
    discarding, fresh_address, is_static_random, notification_len,
};
use lock_hal::{ErrorKind, Received, Transport};

fn frame(bytes: &[u8]) -> FrameBuf {
    FrameBuf::from_slice(bytes).unwrap_or_default()
}

#[test]
fn a_received_frame_reaches_the_protocol_whole() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let sent = [0xA5; MAX_FRAME];
    assert!(link.frame_received(frame(&sent)));
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::Frame(MAX_FRAME))
    );
    assert_eq!(buf, sent);
}

#[test]
fn a_frame_too_long_for_the_buffer_is_dropped_and_the_next_one_taken() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    assert!(link.frame_received(frame(&[1; 9])));
    assert!(link.frame_received(frame(&[2; 4])));
    let mut buf = [0u8; 8];
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::Frame(4))
    );
    assert_eq!(buf.get(..4), Some(&[2u8; 4][..]));
    assert_eq!(link.try_take_received(), None);
}

#[test]
fn receive_waits_without_losing_anything_when_dropped() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let mut buf = [0u8; MAX_FRAME];
    // Nothing queued: the receive is still waiting when the other side of
    // the select finishes, and is dropped there (cancel-safe).
    let raced = block_on(select(transport.receive(&mut buf), async {}));
    assert!(matches!(raced, Either::Second(())));
    assert!(link.frame_received(frame(&[7, 7])));
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::Frame(2))
    );
}

#[test]
fn sent_frames_wait_in_order_for_the_gatt_server() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    for n in 0..QUEUE {
        let byte = u8::try_from(n).unwrap_or(u8::MAX);
        assert_eq!(block_on(transport.send(&[byte; 3])), Ok(()));
    }
    for n in 0..QUEUE {
        let byte = u8::try_from(n).unwrap_or(u8::MAX);
        assert_eq!(link.outgoing().try_receive().ok(), Some(frame(&[byte; 3])));
    }
}

#[test]
fn s_pr_7_with_the_queue_full_a_send_drops_the_frame_and_returns_at_once() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    for _ in 0..QUEUE {
        assert_eq!(block_on(transport.send(&[1])), Ok(()));
    }
    // The phone takes no notifications: the next send finishes at its first
    // poll (R-RSP-1: the lock's loop never waits on the radio), and says
    // the frame was dropped.
    assert_eq!(
        poll_once(pin!(transport.send(&[2]))),
        Poll::Ready(Err(ErrorKind::Busy))
    );
    assert_eq!(link.outgoing().len(), QUEUE);
    assert_eq!(link.outgoing().try_receive().ok(), Some(frame(&[1])));
    assert_eq!(block_on(transport.send(&[3])), Ok(()));
}

#[test]
fn s_pr_7_each_connection_starts_before_its_frames_and_drops_the_last_ones() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let mut buf = [0u8; MAX_FRAME];
    link.link_started(1);
    assert!(link.frame_received(frame(&[1])));
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::LinkStarted)
    );
    // A frame of connection 1 not taken when connection 2 starts is gone
    // with its phone.
    link.link_started(2);
    assert!(link.frame_received(frame(&[2, 2])));
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::LinkStarted)
    );
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::Frame(2))
    );
    assert_eq!(link.try_take_received(), None);
}

#[test]
fn s_pr_7_disconnect_ends_the_connection_the_frames_came_over_and_no_later_one() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let mut buf = [0u8; MAX_FRAME];
    // Before any connection there is nothing to end.
    transport.disconnect();
    link.link_started(1);
    assert_eq!(poll_once(pin!(link.wait_for_end(1))), Poll::Pending);
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::LinkStarted)
    );
    transport.disconnect();
    assert_eq!(poll_once(pin!(link.wait_for_end(1))), Poll::Ready(()));
    // Connection 1 ended on its own and 2 started before the app side
    // decided about 1: its request does not end 2.
    link.link_started(2);
    transport.disconnect();
    assert_eq!(poll_once(pin!(link.wait_for_end(2))), Poll::Pending);
    assert_eq!(
        block_on(transport.receive(&mut buf)),
        Ok(Received::LinkStarted)
    );
    transport.disconnect();
    // A request left from an earlier connection never ends a new one.
    link.link_started(3);
    assert_eq!(poll_once(pin!(link.wait_for_end(3))), Poll::Pending);
    assert_eq!(link.try_take_received(), Some(Inbound::LinkStarted(3)));
}

#[test]
fn without_a_radio_discard_takes_every_frame_and_no_send_waits() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let sent = async {
        for n in 0..QUEUE * 8 {
            let byte = u8::try_from(n).unwrap_or(u8::MAX);
            let sent = transport.send(&[byte; 3]).await;
            assert!(matches!(sent, Ok(()) | Err(ErrorKind::Busy)));
        }
    };
    // Polled by hand, so that a send that waited forever fails the test
    // instead of hanging it.
    let mut both = pin!(select(sent, discard(link.outgoing())));
    let finished = (0..QUEUE * 64).any(|_| poll_once(both.as_mut()).is_ready());
    assert!(finished, "a send still waits with discard running");
}

#[test]
fn discarding_gives_what_it_ran_and_drops_what_was_sent_meanwhile() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let sent = async {
        for n in 0..QUEUE * 8 {
            let byte = u8::try_from(n).unwrap_or(u8::MAX);
            let sent = transport.send(&[byte; 3]).await;
            assert!(matches!(sent, Ok(()) | Err(ErrorKind::Busy)));
        }
        7
    };
    let mut running = pin!(discarding(link.outgoing(), sent));
    let result = (0..QUEUE * 64).find_map(|_| match poll_once(running.as_mut()) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    });
    assert_eq!(result, Some(7), "a send still waits while discarding");
}

#[test]
fn a_frame_longer_than_the_protocol_allows_is_refused() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let long = [0u8; MAX_FRAME + 1];
    assert_eq!(block_on(transport.send(&long)), Err(ErrorKind::Other));
    assert!(link.outgoing().is_empty());
}

#[test]
fn notifications_carry_mtu_minus_three_bytes() {
    assert_eq!(notification_len(23), 20);
    assert_eq!(notification_len(512), 509);
    // A nonsensical MTU still makes progress, a byte at a time.
    assert_eq!(notification_len(0), 1);
    assert_eq!(notification_len(3), 1);
    assert!(notification_len(512) >= MAX_FRAME);
}

#[test]
fn s_pr_8_the_advertising_address_changes_at_rotation_and_never_repeats_the_last() {
    let mut addresses = AddressRotation::new([0x5A; 32]);
    let mut seen = std::collections::HashSet::new();
    let mut previous = addresses.current();
    assert!(is_static_random(&previous));
    seen.insert(previous);
    for epoch in 1..=10_000u64 {
        let next = addresses.rotate();
        assert_eq!(addresses.epoch(), epoch);
        assert_ne!(next, previous, "rotation {epoch} kept the address");
        assert!(is_static_random(&next), "{next:02x?}");
        seen.insert(next);
        previous = next;
    }
    // Nothing repeats at all in practice (46 random bits).
    assert_eq!(seen.len(), 10_001);
    // Another boot (another seed) starts elsewhere; the same seed (the same
    // entropy) would repeat, which is why it must be fresh each boot.
    assert_ne!(
        AddressRotation::new([0xA5; 32]).current(),
        AddressRotation::new([0x5A; 32]).current()
    );
    // No address is made of the chip: the old one was its unique id with
    // the top bits set.
    let chip = [1, 2, 3, 4, 5, 6];
    assert_ne!(AddressRotation::new([0; 32]).current()[..5], chip[..5]);
}

#[test]
fn s_pr_8_a_new_address_is_never_the_last_nor_invalid_whatever_the_hash_gives() {
    // The hash gave the previous address back, or a random part of all
    // zeros or all ones: a bit is flipped, never giving the previous one.
    let previous = [0x10, 0x20, 0x30, 0x40, 0x50, 0xC1];
    let next = fresh_address(previous, Some(previous));
    assert_ne!(next, previous);
    assert!(is_static_random(&next));
    for bad in [[0u8; 6], [0xFF; 6], [0, 0, 0, 0, 0, 0xC0]] {
        let next = fresh_address(bad, None);
        assert!(is_static_random(&next), "{next:02x?}");
        // Even when the fixed-up address would be the previous one.
        let next2 = fresh_address(bad, Some(next));
        assert!(is_static_random(&next2), "{next2:02x?}");
        assert_ne!(next2, next);
    }
    // Every candidate, against every previous that differs in the low bits.
    for low in 0..=0xFFu8 {
        for prev_low in 0..8u8 {
            let candidate = [low, 0, 0, 0, 0, 0xC0];
            let previous = [low ^ prev_low, 0, 0, 0, 0, 0xC0];
            let previous = Some(previous).filter(is_static_random);
            let next = fresh_address(candidate, previous);
            assert!(is_static_random(&next));
            assert_ne!(Some(next), previous);
        }
    }
}

#[test]
fn the_service_uuid_is_advertised_little_endian() {
    // What phones scan for: the bytes on the air, fixed.
    assert_eq!(
        lock_ble::SERVICE_UUID_LE,
        [
            0x00, 0x6b, 0x63, 0x6f, 0x6c, 0x72, 0x6f, 0x6f, 0x64, 0x72, 0x6f, 0x6f, 0x01, 0x00,
            0x6c, 0x6f
        ]
    );
    assert_eq!(
        lock_ble::RX_UUID_VALUE,
        0x6f6c0002_6f6f_7264_6f6f_726c6f636b00
    );
    assert_eq!(
        lock_ble::TX_UUID_VALUE,
        0x6f6c0003_6f6f_7264_6f6f_726c6f636b00
    );
}

#[test]
fn a_uuid_that_is_not_32_hex_digits_reads_as_zero() {
    use lock_ble::uuid_value;
    assert_eq!(uuid_value("6f6c0002-6f6f-7264-6f6f-726c6f636b0"), 0);
    assert_eq!(uuid_value("6f6c0002-6f6f-7264-6f6f-726c6f636b000"), 0);
    assert_eq!(uuid_value("6f6c0002-6f6f-7264-6f6f-726c6f636bxx"), 0);
    assert_eq!(
        uuid_value("6F6C0002-6F6F-7264-6F6F-726C6F636B00"),
        lock_ble::RX_UUID_VALUE
    );
}

#[test]
fn r_nrg_3_the_server_advertises_only_while_the_lock_wants_the_radio_to_listen() {
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    // A lock starts listening: the server advertises at once.
    assert!(link.listening());
    assert_eq!(poll_once(pin!(link.until_listening())), Poll::Ready(()));
    let mut quiet = pin!(link.until_quiet());
    assert_eq!(poll_once(quiet.as_mut()), Poll::Pending);
    // The lock goes quiet: the advertising server hears it and stops.
    transport.listen(false);
    assert!(!link.listening());
    assert_eq!(poll_once(quiet.as_mut()), Poll::Ready(()));
    let mut listening = pin!(link.until_listening());
    assert_eq!(poll_once(listening.as_mut()), Poll::Pending);
    // Saying it twice changes nothing; woken, the lock listens again.
    transport.listen(false);
    assert_eq!(poll_once(listening.as_mut()), Poll::Pending);
    transport.listen(true);
    assert_eq!(poll_once(listening.as_mut()), Poll::Ready(()));
    assert_eq!(poll_once(pin!(link.until_listening())), Poll::Ready(()));
}

/// A waker that notes it was woken.
struct Noted(std::sync::atomic::AtomicBool);

impl std::task::Wake for Noted {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn r_nrg_3_every_task_waiting_on_the_listening_switch_is_woken() {
    // The GATT server and a board's radio power task both wait: a change
    // wakes both, not only the last to wait.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Waker};
    let link = BleLink::new();
    let mut transport = BleTransport::new(&link);
    let noted: Vec<Arc<Noted>> = (0..2)
        .map(|_| Arc::new(Noted(AtomicBool::new(false))))
        .collect();
    let mut server = pin!(link.until_quiet());
    let mut power = pin!(link.until_quiet());
    for (task, n) in [server.as_mut(), power.as_mut()].into_iter().zip(&noted) {
        let waker = Waker::from(n.clone());
        assert!(task.poll(&mut Context::from_waker(&waker)).is_pending());
    }
    transport.listen(false);
    assert!(
        noted.iter().all(|n| n.0.load(Ordering::Relaxed)),
        "a waiter was not woken"
    );
    assert_eq!(poll_once(server.as_mut()), Poll::Ready(()));
    assert_eq!(poll_once(power.as_mut()), Poll::Ready(()));
}
