//! People and their credentials.
//!
//! A person is one record: number, role, validity period, the module template
//! ids of their faces, palms and fingers, and their passcodes. Keeping it one
//! record means a person and their credentials reach flash in one write
//! ([`Change::Person`](crate::Change::Person)), so a power cut never leaves a
//! person without the credential they were stored with.

use core::fmt;

use heapless::Vec;

use crate::passcode::Passcode;
use crate::time::{Validity, WallClock, WeeklySchedule};

/// At least 100 people can be stored; numbers run `001..=100`.
pub const PEOPLE_CAPACITY: usize = 100;
/// Faces the whole lock stores.
pub const FACE_CAPACITY: usize = 50;
/// Palm veins the whole lock stores.
pub const PALM_CAPACITY: usize = 50;
/// Fingerprints the whole lock stores.
pub const FINGER_CAPACITY: usize = 50;
/// Faces one person may have.
pub const FACES_PER_PERSON: usize = 3;
/// Palm veins one person may have.
pub const PALMS_PER_PERSON: usize = 2;
/// Fingerprints one person may have.
pub const FINGERS_PER_PERSON: usize = 5;
/// Templates one person may hold across all kinds.
pub const TEMPLATES_PER_PERSON: usize = FACES_PER_PERSON + PALMS_PER_PERSON + FINGERS_PER_PERSON;

/// A person's number, `001` to `100`. Shown with three digits.
///
/// Decoding (flash, frames) refuses 0 and numbers above 100, so no such value
/// ever reaches the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u8", into = "u8")
)]
pub struct PersonNumber(u8);

impl TryFrom<u8> for PersonNumber {
    type Error = &'static str;
    fn try_from(n: u8) -> Result<PersonNumber, &'static str> {
        PersonNumber::new(n).ok_or("person number: 1 to 100")
    }
}

impl From<PersonNumber> for u8 {
    fn from(n: PersonNumber) -> u8 {
        n.0
    }
}

impl PersonNumber {
    /// The first number handed out: `001`.
    pub const FIRST: PersonNumber = PersonNumber(1);

    /// `n` as a person number, if it is in `1..=100`.
    pub const fn new(n: u8) -> Option<PersonNumber> {
        if n >= 1 && (n as usize) <= PEOPLE_CAPACITY {
            Some(PersonNumber(n))
        } else {
            None
        }
    }

    /// The number as an integer.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Its three decimal digits, most significant first (`007` → `[0, 0, 7]`).
    pub const fn digits(self) -> [u8; 3] {
        [self.0 / 100, self.0 / 10 % 10, self.0 % 10]
    }

    /// Zero-based index into a table of [`PEOPLE_CAPACITY`] entries.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0).saturating_sub(1)
    }
}

impl fmt::Display for PersonNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Role {
    /// May unlock and open the settings menu.
    Administrator,
    /// May only unlock.
    User,
}

/// The three kinds of biometric module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum BiometricKind {
    /// 3D face module.
    Face,
    /// Palm-vein module.
    Palm,
    /// Fingerprint module.
    Finger,
}

/// The biometric modules a lock has fitted: the menu offers only
/// these, and the lock asks nothing of one it does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Modules {
    /// A 3D face module.
    pub face: bool,
    /// A palm-vein module.
    pub palm: bool,
    /// A fingerprint module.
    pub finger: bool,
}

impl Modules {
    /// All three.
    pub const ALL: Modules = Modules {
        face: true,
        palm: true,
        finger: true,
    };

    /// None: a passcode-only lock.
    pub const NONE: Modules = Modules {
        face: false,
        palm: false,
        finger: false,
    };

    /// Whether a module of `kind` is fitted.
    pub const fn has(self, kind: BiometricKind) -> bool {
        match kind {
            BiometricKind::Face => self.face,
            BiometricKind::Palm => self.palm,
            BiometricKind::Finger => self.finger,
        }
    }

    /// The fitted kinds, in the menu's order.
    pub fn fitted(self) -> impl Iterator<Item = BiometricKind> {
        BiometricKind::ALL.into_iter().filter(move |k| self.has(*k))
    }
}

impl Default for Modules {
    fn default() -> Self {
        Modules::ALL
    }
}

impl BiometricKind {
    /// All three kinds, in the menu's order.
    pub const ALL: [BiometricKind; 3] = [
        BiometricKind::Face,
        BiometricKind::Palm,
        BiometricKind::Finger,
    ];

    /// Templates of this kind the whole lock stores.
    pub const fn capacity(self) -> usize {
        match self {
            BiometricKind::Face => FACE_CAPACITY,
            BiometricKind::Palm => PALM_CAPACITY,
            BiometricKind::Finger => FINGER_CAPACITY,
        }
    }

    /// Templates of this kind one person may have.
    pub const fn per_person(self) -> usize {
        match self {
            BiometricKind::Face => FACES_PER_PERSON,
            BiometricKind::Palm => PALMS_PER_PERSON,
            BiometricKind::Finger => FINGERS_PER_PERSON,
        }
    }
}

/// A template's id inside its biometric module. Matching happens in the module;
/// the core only maps (kind, id) to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TemplateId(pub u16);

/// Bytes of UTF-8 a person's name holds.
pub(crate) const NAME_LEN: usize = 16;

/// A person's name as the app gives it: at most 16 bytes
/// of UTF-8 without control characters. The lock never speaks or shows it;
/// it keeps it for the app's people list. `Copy`, like the commands that
/// carry it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Name {
    len: u8,
    bytes: [u8; NAME_LEN],
}

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameError {
    /// Longer than 16 bytes.
    TooLong,
    /// A control character.
    Control,
}

impl Name {
    /// The name `text`.
    pub fn new(text: &str) -> Result<Name, NameError> {
        if text.chars().any(char::is_control) {
            return Err(NameError::Control);
        }
        let mut bytes = [0u8; NAME_LEN];
        bytes
            .get_mut(..text.len())
            .ok_or(NameError::TooLong)?
            .copy_from_slice(text.as_bytes());
        Ok(Name {
            // At most NAME_LEN (16): fits.
            len: u8::try_from(text.len()).map_err(|_| NameError::TooLong)?,
            bytes,
        })
    }

    /// The name; empty for a name that is not valid (a damaged record).
    pub fn as_str(&self) -> &str {
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Whether this name could have come from [`Name::new`]: a stored or
    /// received one is checked again.
    pub fn is_valid(&self) -> bool {
        let Some(used) = self.bytes.get(..usize::from(self.len)) else {
            return false;
        };
        let rest_zero = self
            .bytes
            .get(usize::from(self.len)..)
            .is_some_and(|r| r.iter().all(|&b| b == 0));
        rest_zero && core::str::from_utf8(used).is_ok_and(|t| !t.chars().any(char::is_control))
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({:?})", self.as_str())
    }
}

/// One stored person with every credential of theirs.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Person {
    /// `001`…
    pub number: PersonNumber,
    /// Administrator or user.
    pub role: Role,
    /// When their credentials open.
    pub validity: Validity,
    /// Face template ids.
    pub faces: Vec<TemplateId, FACES_PER_PERSON, u8>,
    /// Palm-vein template ids.
    pub palms: Vec<TemplateId, PALMS_PER_PERSON, u8>,
    /// Fingerprint template ids.
    pub fingers: Vec<TemplateId, FINGERS_PER_PERSON, u8>,
    /// Their passcode, if any (at most one).
    pub passcode: Option<Passcode>,
    /// Their duress passcode, if any. It takes a slot of the lock's 50.
    pub duress: Option<Passcode>,
    /// Their name, as the app set it; empty if none.
    pub name: Name,
    /// The hours of the week they may open, if limited.
    pub schedule: Option<WeeklySchedule>,
}

impl Person {
    /// A person with no credential yet.
    pub fn new(number: PersonNumber, role: Role) -> Person {
        Person {
            number,
            role,
            validity: Validity::ALWAYS,
            faces: Vec::new(),
            palms: Vec::new(),
            fingers: Vec::new(),
            passcode: None,
            duress: None,
            name: Name::default(),
            schedule: None,
        }
    }

    /// Whether their credentials open at the wall-clock time `wall`: within
    /// their validity period and their weekly schedule, if any. Either limit
    /// fails closed without a trusted clock.
    ///
    /// A validity period's end is judged by the furthest the clock has reached:
    /// setting the clock back never revives it.
    pub fn admits(&self, clock: Option<WallClock>) -> bool {
        self.validity.admits_at(clock)
            && self.schedule.is_none_or(|s| s.admits(clock.map(|c| c.now)))
    }

    /// Template ids of one kind.
    pub fn templates(&self, kind: BiometricKind) -> &[TemplateId] {
        match kind {
            BiometricKind::Face => &self.faces,
            BiometricKind::Palm => &self.palms,
            BiometricKind::Finger => &self.fingers,
        }
    }

    /// Adds a template id of `kind`; false when the person's share is full.
    pub fn add_template(&mut self, kind: BiometricKind, id: TemplateId) -> bool {
        match kind {
            BiometricKind::Face => self.faces.push(id).is_ok(),
            BiometricKind::Palm => self.palms.push(id).is_ok(),
            BiometricKind::Finger => self.fingers.push(id).is_ok(),
        }
    }

    /// Every (kind, template) of theirs.
    pub fn all_templates(&self) -> impl Iterator<Item = (BiometricKind, TemplateId)> + '_ {
        BiometricKind::ALL
            .into_iter()
            .flat_map(move |k| self.templates(k).iter().map(move |&t| (k, t)))
    }

    /// Whether they hold any credential at all.
    pub fn has_credentials(&self) -> bool {
        self.passcode.is_some()
            || self.duress.is_some()
            || !self.faces.is_empty()
            || !self.palms.is_empty()
            || !self.fingers.is_empty()
    }

    /// Number of passcode slots they take.
    pub fn passcode_count(&self) -> usize {
        usize::from(self.passcode.is_some()) + usize::from(self.duress.is_some())
    }
}

/// Why a person could not be added, changed or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) enum PeopleError {
    /// All 100 numbers are taken.
    Full,
    /// No person has that number.
    NoSuchPerson,
    /// They are the last administrator.
    LastAdministrator,
    /// They are the only person left.
    OnlyPerson,
    /// The lock's store of that credential kind is full.
    CredentialStoreFull,
    /// The person already has as many of that kind as they may.
    PersonCredentialsFull,
    /// That template id already belongs to someone.
    Duplicate,
}

/// Everyone stored, indexed by number.
#[derive(Clone)]
pub struct People {
    slots: [Option<Person>; PEOPLE_CAPACITY],
}

impl Default for People {
    fn default() -> Self {
        People::new()
    }
}

impl fmt::Debug for People {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl People {
    /// No one.
    pub const fn new() -> People {
        People {
            slots: [const { None }; PEOPLE_CAPACITY],
        }
    }

    /// Everyone, by number.
    pub fn iter(&self) -> impl Iterator<Item = &Person> {
        self.slots.iter().flatten()
    }

    /// Number of people stored.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// No one stored.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Number of administrators.
    pub fn administrators(&self) -> usize {
        self.iter()
            .filter(|p| p.role == Role::Administrator)
            .count()
    }

    /// The person with this number.
    pub fn get(&self, number: PersonNumber) -> Option<&Person> {
        self.slots.get(number.index()).and_then(Option::as_ref)
    }

    /// R-USR-2: the lowest number no one has, from `001`.
    pub(crate) fn lowest_free(&self) -> Option<PersonNumber> {
        let index = self.slots.iter().position(Option::is_none)?;
        PersonNumber::new(u8::try_from(index.saturating_add(1)).ok()?)
    }

    /// Templates of `kind` stored for everyone together.
    pub fn template_count(&self, kind: BiometricKind) -> usize {
        self.iter().map(|p| p.templates(kind).len()).sum()
    }

    /// Passcode slots taken by everyone together.
    pub fn passcode_count(&self) -> usize {
        self.iter().map(Person::passcode_count).sum()
    }

    /// Who holds template `id` of `kind`.
    pub fn owner_of(&self, kind: BiometricKind, id: TemplateId) -> Option<&Person> {
        self.iter().find(|p| p.templates(kind).contains(&id))
    }

    /// The lowest template id of `kind` nobody holds, to suggest to the module.
    pub(crate) fn free_template(&self, kind: BiometricKind) -> TemplateId {
        let mut id = 0u16;
        while self.owner_of(kind, TemplateId(id)).is_some() {
            id = id.saturating_add(1);
        }
        TemplateId(id)
    }

    /// R-USR-3: whether `person` may receive one more template of `kind`,
    /// within the lock's and the person's capacities.
    pub(crate) fn can_add_template(
        &self,
        person: Option<&Person>,
        kind: BiometricKind,
    ) -> Result<(), PeopleError> {
        if self.template_count(kind) >= kind.capacity() {
            return Err(PeopleError::CredentialStoreFull);
        }
        if person.is_some_and(|p| p.templates(kind).len() >= kind.per_person()) {
            return Err(PeopleError::PersonCredentialsFull);
        }
        Ok(())
    }

    /// Stores or replaces `person` under their number, refusing anything that
    /// would break a capacity or give one template to two people.
    /// On refusal nothing changes.
    pub(crate) fn put(&mut self, person: Person) -> Result<(), PeopleError> {
        let number = person.number;
        for kind in BiometricKind::ALL {
            let others: usize = self
                .iter()
                .filter(|p| p.number != number)
                .map(|p| p.templates(kind).len())
                .sum();
            if others.saturating_add(person.templates(kind).len()) > kind.capacity() {
                return Err(PeopleError::CredentialStoreFull);
            }
            for &id in person.templates(kind) {
                if self.owner_of(kind, id).is_some_and(|p| p.number != number)
                    || person.templates(kind).iter().filter(|&&t| t == id).count() > 1
                {
                    return Err(PeopleError::Duplicate);
                }
            }
        }
        let other_codes: usize = self
            .iter()
            .filter(|p| p.number != number)
            .map(Person::passcode_count)
            .sum();
        if other_codes.saturating_add(person.passcode_count()) > crate::passcode::PASSCODE_CAPACITY
        {
            return Err(PeopleError::CredentialStoreFull);
        }
        let slot = self
            .slots
            .get_mut(number.index())
            .ok_or(PeopleError::Full)?;
        *slot = Some(person);
        Ok(())
    }

    /// R-USR-4: whether `number` may be deleted: not the last
    /// administrator, not the only person, and someone at all.
    pub(crate) fn check_delete(&self, number: PersonNumber) -> Result<(), PeopleError> {
        let person = self.get(number).ok_or(PeopleError::NoSuchPerson)?;
        if self.len() <= 1 {
            return Err(PeopleError::OnlyPerson);
        }
        if person.role == Role::Administrator && self.administrators() <= 1 {
            return Err(PeopleError::LastAdministrator);
        }
        Ok(())
    }

    /// Removes `number` after [`People::check_delete`], returning the record.
    pub(crate) fn remove(&mut self, number: PersonNumber) -> Option<Person> {
        self.slots.get_mut(number.index()).and_then(Option::take)
    }

    /// Forgets everyone, in place.
    pub(crate) fn clear(&mut self) {
        for slot in &mut self.slots {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(x: u8) -> PersonNumber {
        PersonNumber::new(x).unwrap()
    }

    #[test]
    fn r_usr_2_numbers_from_001_lowest_free_first() {
        let mut people = People::new();
        assert_eq!(people.lowest_free(), Some(n(1)));
        for i in 1..=3 {
            people.put(Person::new(n(i), Role::User)).unwrap();
        }
        people.remove(n(2));
        assert_eq!(people.lowest_free(), Some(n(2)));
        assert_eq!(n(7).to_string(), "007");
        assert_eq!(n(42).digits(), [0, 4, 2]);
        assert_eq!(PersonNumber::new(0), None);
        assert_eq!(PersonNumber::new(101), None);
    }

    #[test]
    fn r_usr_2_at_least_100_people() {
        let mut people = People::new();
        for i in 1..=100 {
            people.put(Person::new(n(i), Role::User)).unwrap();
        }
        assert_eq!(people.len(), 100);
        assert_eq!(people.lowest_free(), None);
    }

    #[test]
    fn r_usr_3_capacities_refused_without_change() {
        let mut people = People::new();
        let mut next = 0u16;
        for i in 1..=10 {
            let mut p = Person::new(n(i), Role::User);
            for _ in 0..5 {
                assert!(p.add_template(BiometricKind::Finger, TemplateId(next)));
                next += 1;
            }
            assert!(
                !p.add_template(BiometricKind::Finger, TemplateId(999)),
                "5 per person"
            );
            people.put(p).unwrap();
        }
        assert_eq!(people.template_count(BiometricKind::Finger), 50);
        assert_eq!(
            people.can_add_template(None, BiometricKind::Finger),
            Err(PeopleError::CredentialStoreFull)
        );
        let mut extra = Person::new(n(11), Role::User);
        extra.add_template(BiometricKind::Finger, TemplateId(500));
        assert_eq!(people.put(extra), Err(PeopleError::CredentialStoreFull));
        assert_eq!(people.len(), 10);
        let mut p = Person::new(n(12), Role::User);
        for t in 0..3 {
            assert!(p.add_template(BiometricKind::Face, TemplateId(t)));
        }
        assert!(!p.add_template(BiometricKind::Face, TemplateId(3)));
        assert_eq!(
            people.can_add_template(Some(&p), BiometricKind::Face),
            Err(PeopleError::PersonCredentialsFull)
        );
    }

    #[test]
    fn r_usr_7_one_template_never_two_people() {
        let mut people = People::new();
        let mut a = Person::new(n(1), Role::Administrator);
        a.add_template(BiometricKind::Palm, TemplateId(4));
        people.put(a).unwrap();
        let mut b = Person::new(n(2), Role::User);
        b.add_template(BiometricKind::Palm, TemplateId(4));
        assert_eq!(people.put(b), Err(PeopleError::Duplicate));
        assert_eq!(people.free_template(BiometricKind::Palm), TemplateId(0));
    }

    #[test]
    fn r_usr_4_last_administrator_and_only_person() {
        let mut people = People::new();
        people.put(Person::new(n(1), Role::Administrator)).unwrap();
        assert_eq!(people.check_delete(n(1)), Err(PeopleError::OnlyPerson));
        people.put(Person::new(n(2), Role::User)).unwrap();
        assert_eq!(
            people.check_delete(n(1)),
            Err(PeopleError::LastAdministrator)
        );
        assert_eq!(people.check_delete(n(3)), Err(PeopleError::NoSuchPerson));
        assert_eq!(people.check_delete(n(2)), Ok(()));
    }
}
