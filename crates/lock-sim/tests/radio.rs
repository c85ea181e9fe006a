//! S-PR-7 end to end: the real runtime, `ProtoApp` and phones on the
//! simulated radio and clock. The scenario file
//! `scenarios/51-the-radio-cannot-be-held-hostage.lock` tells the whole story;
//! each test here is one part of it.

use lock_sim::sim::run_text;

/// First start (administrator 001, passcode 482915) and the owner's phone
/// paired, then a minute for pairing mode to be long closed.
const PAIRED: &str = "\
keys ok 1
keys ok
keys 482915 ok 482915 ok
keys back
set-hold
app pair
keys ok
expect reply paired
wait 1m
";

fn passes(steps: &str) {
    let outcome = run_text(&format!("{PAIRED}{steps}"));
    assert!(outcome.passed(), "{}", outcome.report("s_pr_7"));
}

fn fails(steps: &str) {
    let outcome = run_text(&format!("{PAIRED}{steps}"));
    assert!(!outcome.passed(), "passed: {steps}");
}

#[test]
fn s_pr_7_a_silent_link_is_dropped_at_the_limit_and_the_owner_connects_after() {
    passes(
        "app as mallory connect
wait 9s
expect link up
wait 1s
expect link dropped
app connect
app status
expect reply status
wait 1h
expect link up
",
    );
    // And not before the limit.
    fails(
        "app as mallory connect
wait 9s
expect link dropped
",
    );
}

#[test]
fn s_pr_7_a_link_sending_forged_frames_is_dropped_when_they_are_rate_limited() {
    passes(
        "app connect
app forge status
app forge status
app forge status
expect link up
app forge status
expect link dropped
app status
expect reply none
app connect
app status
expect reply status
",
    );
}

#[test]
fn s_pr_7_an_authenticated_link_stays_while_a_phone_pairs_it_gets_the_exchanges_time() {
    passes(
        "app connect
app status
wait 30m
expect link up
app unlock
expect reply done
",
    );
    passes(
        "app as guest connect
set-hold
app as guest pair
wait 20s
keys ok
expect reply paired
expect link up
app as guest status
expect reply status
wait 10m
expect link up
",
    );
}

#[test]
fn s_pr_7_a_phone_taking_no_notifications_never_holds_up_the_keypad() {
    passes(
        "app connect
app status
app stall
touch
keys bell
keys bell
keys bell
keys bell
keys 482915 ok
expect event unlock
wait 2s
expect bolt unlocked
",
    );
}

#[test]
fn s_pr_7_a_key_outside_its_window_does_not_keep_the_radio() {
    // A visitor's key for one hour; two hours later it is refused, and its
    // link is ended at the limit like a silent one. The owner's stays.
    let key = "app clock 1800000000
expect reply done
app issue-key guest visitor 1800000000 1800003600
expect reply key-issued
wait 2h
";
    passes(&format!(
        "{key}app as guest connect
app as guest status
expect reply refused:outside-validity
wait 9s
expect link up
wait 1s
expect link dropped
app connect
app status
expect reply status
wait 1m
expect link up
"
    ));
}
