//! `Absent` stands in for a missing part: its waits never finish, its
//! outputs do nothing, its operations refuse or report nothing.

use core::pin::pin;
use core::task::{Context, Poll, Waker};

use lock_hal::{
    Absent, Biometric, Button, ContactSensor, EnrollRefusal, EnrollStatus, Identification,
    SampleSensor, TemplateId, Transport, TriggerSensor, UsbPower, WallClock,
};

/// Polls a future once, as an executor would, and says whether it finished.
fn ready_at_once<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[test]
fn waits_of_an_absent_part_never_finish() {
    let mut a = Absent;
    assert!(ready_at_once(TriggerSensor::wait_for_trigger(&mut a)).is_none());
    assert!(ready_at_once(ContactSensor::wait_for_change(&mut a, false)).is_none());
    assert!(ready_at_once(SampleSensor::wait_for_sample(&mut a)).is_none());
    // Nothing is ever on it, so nothing is ever to be lifted.
    assert_eq!(
        ready_at_once(SampleSensor::wait_for_removal(&mut a)),
        Some(Ok(()))
    );
    // And it says it is not fitted, so the lock searches on a touch.
    const { assert!(!<Absent as SampleSensor>::FITTED) };
    const { assert!(!<&mut Absent as SampleSensor>::FITTED) };
    assert!(ready_at_once(Button::wait_for_press(&mut a)).is_none());
    assert!(ready_at_once(UsbPower::wait_for_change(&mut a, false)).is_none());
    let mut buf = [0u8; 8];
    assert!(ready_at_once(Transport::receive(&mut a, &mut buf)).is_none());
}

#[test]
fn operations_of_an_absent_part_report_nothing_and_refuse_enrolment() {
    let mut a = Absent;
    assert_eq!(
        ready_at_once(a.identify()),
        Some(Ok(Identification::NoSample))
    );
    assert_eq!(ready_at_once(a.begin_enroll(TemplateId(0))), Some(Ok(())));
    assert_eq!(
        ready_at_once(a.enroll_step()),
        Some(Ok(EnrollStatus::Refused(EnrollRefusal::Full)))
    );
    assert_eq!(ContactSensor::is_open(&mut a), Ok(false));
    assert_eq!(UsbPower::is_present(&mut a), Ok(false));
    assert_eq!(Button::is_pressed(&mut a), Ok(false));
    assert_eq!(a.now_secs(), Ok(None));
    // Through `&mut T` as well, as drivers are often passed.
    let r = &mut a;
    assert_eq!(
        ready_at_once(r.identify()),
        Some(Ok(Identification::NoSample))
    );
}
