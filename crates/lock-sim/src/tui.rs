//! The interactive lock in the terminal (`cargo run -p lock-sim`): the
//! simulated lock running in real time, drawn in 80×24 with ratatui, driven
//! by the scenario steps typed as commands (`keys 482915 ok`, `finger alice`,
//! `door open`, `wait 3m`); a bare run of keys (`ok 1`, `482915 ok`) is a
//! `keys` step. State persists in a flash file between runs.
//!
//! Made to be learnt from the screen alone: the line under the panels says
//! what the lock waits for ([`crate::meaning`]), `?` shows every step
//! ([`crate::help`]), and on an empty input line the digits, Enter and
//! Backspace press the lock's 0–9, ✓ and ↩ directly, as at a door.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use lock_core::{Duration, Key};
use lock_hal::BoltPosition;
use ratatui::DefaultTerminal;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::meaning::meaning_of;
use crate::power::{ESP32C3, charges};
use crate::scenario::{Step, parse_step};
use crate::sim::{Sim, SimError, bolt_name, clip_name, decode_clips, describe};
use crate::world::{flash_layout, open_flash, save_flash};

#[cfg(feature = "matter")]
use crate::matter::device::Said;

/// Where the interactive lock keeps its flash unless told otherwise.
pub const DEFAULT_FLASH: &str = "lock-sim.flash";

/// Options of the interactive lock.
#[derive(Debug, Clone)]
pub struct Options {
    /// The flash image file.
    pub flash: PathBuf,
    /// Start factory-new (the files are replaced).
    pub fresh: bool,
    /// Run the Matter Door Lock device beside the lock (`--matter`, built
    /// with the `matter` feature), its mDNS on this interface or, `None`,
    /// the first with an IPv6 address.
    pub matter: Option<Option<String>>,
}

/// What the biometric modules hold and where the bolt and door are: kept
/// beside the flash image (`FILE.world`), since the modules have their own
/// memory.
pub(crate) fn world_path(flash: &Path) -> PathBuf {
    let mut p = flash.as_os_str().to_owned();
    p.push(".world");
    PathBuf::from(p)
}

pub(crate) fn save(sim: &Sim, path: &Path) -> io::Result<()> {
    save_flash(&sim.flash, path)?;
    let w = sim.world.borrow();
    let mut text = String::new();
    for (kind, module) in ["face", "palm", "finger"].iter().zip(&w.modules) {
        for (name, id) in &module.templates {
            text.push_str(&format!("{kind} {id} {name}\n"));
        }
    }
    text.push_str(&format!("bolt {}\n", bolt_name(w.bolt)));
    text.push_str(&format!(
        "door {}\n",
        if w.door_open { "open" } else { "closed" }
    ));
    std::fs::write(world_path(path), text)
}

pub(crate) fn load_world(sim: &Sim, path: &Path) {
    let Ok(text) = std::fs::read_to_string(world_path(path)) else {
        return;
    };
    let mut w = sim.world.borrow_mut();
    for line in text.lines() {
        let words: Vec<&str> = line.splitn(3, ' ').collect();
        match words.as_slice() {
            ["bolt", "unlocked"] => w.bolt = BoltPosition::Unlocked,
            ["bolt", "locked"] => w.bolt = BoltPosition::Locked,
            ["door", state] => w.door_open = *state == "open",
            [kind, id, name] => {
                let slot = match *kind {
                    "face" => w.modules.get_mut(0),
                    "palm" => w.modules.get_mut(1),
                    "finger" => w.modules.get_mut(2),
                    _ => None,
                };
                if let (Some(m), Ok(id)) = (slot, id.parse()) {
                    m.templates.push(((*name).to_string(), id));
                }
            }
            _ => {}
        }
    }
}

/// An 11-digit manual pairing code as printed on a label: `3497-011-2332`.
#[cfg(feature = "matter")]
fn manual_code(digits: &str) -> String {
    if digits.len() == 11 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &digits[..4], &digits[4..7], &digits[7..])
    } else {
        digits.to_string()
    }
}

/// The keys of the terminal, always on screen (at most 80 columns).
const FOOTER: &str = " ? help · 0-9, Enter ✓, Bksp ↩: keypad · a-z: type a step · PgUp/PgDn: log";

/// The first status line: where to start.
const WELCOME: &str = "press ? for help; the » line says what the lock waits for";

/// Most digits the lock's entry holds, further digits ignored (lock-core's
/// `ENTRY_MAX_DIGITS`, public there only to its internals): the front
/// panel shows no more dots.
const ENTRY_MAX_DIGITS: usize = 16;

/// Clips the voice panel names, newest last: more than its lines of
/// prompts take.
const RECENT_CLIPS: usize = 64;

/// How long the keypad stays awake after a key (R-MNU-1: about 20 s).
const AWAKE_MS: u64 = 20_000;

struct App {
    sim: Sim,
    input: String,
    status: String,
    started: StdInstant,
    /// Simulated time at `started`.
    base_ms: u64,
    path: PathBuf,
    /// The help is open at this page.
    help: Option<usize>,
    /// The event log is paged this many lines back from its newest.
    log_back: usize,
    /// Lines of the event log on screen (a page), as last drawn.
    log_rows: usize,
    /// Digits typed at the keypad since the last ✓, ↩ or prompt: shown
    /// as dots on the front panel.
    typed: usize,
    /// The Matter device beside the lock, and what it said.
    #[cfg(feature = "matter")]
    matter: Option<(crate::matter::Beside, std::sync::mpsc::Receiver<Said>)>,
    /// While Matter's commissioning window is open, the footer shows the
    /// pairing codes instead of the keys.
    pairing_codes: Option<String>,
}

/// Runs the interactive lock until `quit`, Esc or Ctrl-C.
pub fn run(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let (_, sectors) = flash_layout();
    if options.fresh {
        for p in [options.flash.clone(), world_path(&options.flash)] {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    #[cfg(not(feature = "matter"))]
    if options.matter.is_some() {
        return Err(
            "built without Matter (cargo run -p lock-sim --features matter -- --matter)".into(),
        );
    }
    #[cfg(feature = "matter")]
    if options.fresh && options.matter.is_some() {
        crate::matter::remove_files(&options.flash)?;
    }
    #[cfg(feature = "matter")]
    let beside = match options.matter {
        Some(_) => Some(crate::matter::Beside::new(&options.flash)?),
        None => None,
    };
    let flash = open_flash(&options.flash, sectors);
    // The modules and the bolt as they were, then power comes up.
    let mut sim = Sim::unpowered(flash);
    #[cfg(feature = "matter")]
    if let Some(beside) = &beside {
        sim = beside.serve(sim);
    }
    load_world(&sim, &options.flash);
    // The header shows the energy used since this start.
    sim.world.borrow_mut().count_energy();
    sim.boot()?;
    #[cfg_attr(not(feature = "matter"), allow(unused_mut))]
    let mut app = App::new(sim, options.flash.clone());
    #[cfg(feature = "matter")]
    if let (Some(beside), Some(iface)) = (beside, &options.matter) {
        let (tx, rx) = std::sync::mpsc::channel();
        beside.start(&options.flash, iface.clone(), move |said| {
            let _ = tx.send(said);
        })?;
        app.matter = Some((beside, rx));
    }
    let mut terminal = ratatui::try_init()?;
    let result = app.main_loop(&mut terminal);
    ratatui::restore();
    save(&app.sim, &app.path)?;
    result
}

/// What the terminal does after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Goes on.
    Go,
    /// Quits.
    Quit,
}

impl App {
    /// The terminal lock on a booted `sim`, saving to `path`.
    fn new(sim: Sim, path: PathBuf) -> App {
        App {
            base_ms: sim.now_ms(),
            sim,
            input: String::new(),
            status: WELCOME.into(),
            started: StdInstant::now(),
            path,
            help: None,
            log_back: 0,
            log_rows: 1,
            typed: 0,
            #[cfg(feature = "matter")]
            matter: None,
            pairing_codes: None,
        }
    }

    /// What the Matter device said since the last look: the status line,
    /// and the footer's pairing codes while commissioning is open.
    #[cfg(feature = "matter")]
    fn hear_matter(&mut self) {
        let Some((_, said)) = &self.matter else {
            return;
        };
        while let Ok(news) = said.try_recv() {
            self.status = match news {
                Said::Ready => {
                    "Matter: ready; pairing mode (`set-hold`) opens commissioning".into()
                }
                Said::Open { qr, manual, .. } => {
                    let code = manual_code(&manual);
                    self.pairing_codes = Some(format!(" Matter pairing code {code} · QR {qr}"));
                    format!("Matter: commissioning open, pairing code {code}")
                }
                Said::Closed => {
                    self.pairing_codes = None;
                    "Matter: commissioning closed".into()
                }
                Said::FabricsRemoved => "Matter: every fabric removed (factory reset)".into(),
                Said::Stopped(why) => {
                    self.pairing_codes = None;
                    format!("Matter stopped: {why}")
                }
            };
        }
    }

    /// Tells the Matter device of a power cycle (it closes its window).
    fn power_cycled(&self) {
        #[cfg(feature = "matter")]
        if let Some((beside, _)) = &self.matter {
            beside.power_cycled();
        }
    }

    fn main_loop(
        &mut self,
        terminal: &mut DefaultTerminal,
    ) -> Result<(), Box<dyn std::error::Error>> {
        loop {
            self.follow_real_time()?;
            #[cfg(feature = "matter")]
            self.hear_matter();
            terminal.draw(|f| self.draw(f))?;
            if !event::poll(StdDuration::from_millis(100))? {
                continue;
            }
            let Event::Key(key) = event::read()? else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            if self.on_key(key.code, key.modifiers)? == Flow::Quit {
                return Ok(());
            }
        }
    }

    /// One key of the terminal: the help's while it is open; else the
    /// lock's keypad on an empty line, or the line being typed.
    fn on_key(
        &mut self,
        code: KeyCode,
        modifiers: KeyModifiers,
    ) -> Result<Flow, Box<dyn std::error::Error>> {
        if code == KeyCode::Char('c') && modifiers.contains(KeyModifiers::CONTROL) {
            return Ok(Flow::Quit);
        }
        if let Some(page) = self.help {
            // The help is open: it takes the keys until Esc.
            self.help = match code {
                KeyCode::Esc | KeyCode::Char('q' | '?') => None,
                KeyCode::PageDown | KeyCode::Down | KeyCode::Char(' ') | KeyCode::Enter => {
                    Some(page.saturating_add(1))
                }
                KeyCode::PageUp | KeyCode::Up => Some(page.saturating_sub(1)),
                _ => Some(page),
            };
            return Ok(Flow::Go);
        }
        let empty = self.input.is_empty();
        match code {
            KeyCode::Esc if empty => return Ok(Flow::Quit),
            // Esc on a typed line takes the line back, not the lock away.
            KeyCode::Esc => self.input.clear(),
            KeyCode::PageUp => {
                self.log_back = self.log_back.saturating_add(self.log_rows);
            }
            KeyCode::PageDown => {
                self.log_back = self.log_back.saturating_sub(self.log_rows);
            }
            KeyCode::Enter if empty => self.press(Key::Ok)?,
            KeyCode::Backspace if empty => self.press(Key::Back)?,
            KeyCode::Char(c) if empty && c.is_ascii_digit() => {
                let digit = c.to_digit(10).and_then(|d| u8::try_from(d).ok());
                if let Some(d) = digit {
                    self.press(Key::Digit(d))?;
                }
            }
            KeyCode::Char('?') if empty => self.help = Some(0),
            // Between keypad presses (`482915 ok` pasted).
            KeyCode::Char(' ') if empty => {}
            KeyCode::Enter => {
                let line = std::mem::take(&mut self.input);
                if matches!(line.trim(), "quit" | "exit" | "q") {
                    return Ok(Flow::Quit);
                }
                self.command(line.trim());
                save(&self.sim, &self.path)?;
            }
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char(c) => self.input.push(c),
            _ => {}
        }
        Ok(Flow::Go)
    }

    /// A key of the lock pressed from the terminal's keypad mode. A dark
    /// keypad takes its first contact as a touch that wakes it: a person
    /// at the door touches it first, so the press is not lost.
    fn press(&mut self, key: Key) -> Result<(), Box<dyn std::error::Error>> {
        let (awake, clips) = {
            let w = self.sim.world.borrow();
            (w.view.awake, w.clips.len())
        };
        let mut result = Ok(());
        if !awake {
            result = self.sim.act(&Step::Touch);
        }
        if result.is_ok() {
            result = self.sim.act(&Step::Keys(vec![key]));
        }
        let label = match key {
            Key::Digit(d) => d.to_string(),
            Key::Ok => "✓".into(),
            Key::Back => "↩".into(),
            Key::Home => "home".into(),
            Key::Bell => "bell".into(),
        };
        self.status = match result {
            Ok(()) if awake => format!("pressed {label}"),
            Ok(()) => format!("touched the keypad (it woke), pressed {label}"),
            Err(e) => format!("simulator error: {e}"),
        };
        let spoke = self.sim.world.borrow().clips.len() > clips;
        self.typed = match key {
            // A digit that made the lock speak was a choice, not an entry.
            Key::Digit(_) if !spoke => self.typed.saturating_add(1).min(ENTRY_MAX_DIGITS),
            _ => 0,
        };
        save(&self.sim, &self.path)?;
        Ok(())
    }

    /// Simulated time catches up with real time (it may run ahead after a
    /// `wait` or key presses; then real time catches up with it). The
    /// runtime is polled even when no time passes: the Matter device's
    /// requests wait for it.
    fn follow_real_time(&mut self) -> Result<(), SimError> {
        let real = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let target = self.base_ms.saturating_add(real);
        let now = self.sim.now_ms();
        self.sim
            .wait(Duration::from_millis(target.saturating_sub(now)))
    }

    fn command(&mut self, line: &str) {
        if line.is_empty() {
            return;
        }
        if matches!(line, "help" | "?") {
            self.help = Some(0);
            return;
        }
        // A step typed as a command ends any entry typed at the keypad.
        self.typed = 0;
        let step = parse_step(line).or_else(|e| {
            // A bare run of keys: `ok 1`, `482915 ok`.
            parse_step(&format!("keys {line}")).map_err(|_| e)
        });
        match step {
            Ok(Step::Expect(expectation)) => {
                self.status = match self.sim.check(&expectation) {
                    Ok(()) => format!("holds: {line}"),
                    Err(seen) => format!("does not hold: {line}; saw {seen}"),
                };
            }
            Ok(step) => {
                self.status = match self.sim.act(&step) {
                    Ok(()) => format!("> {line}"),
                    Err(e) => format!("simulator error: {e}"),
                };
                if let Step::PowerCycle { .. } = step {
                    self.power_cycled();
                }
                if let Step::Wait(_) | Step::PowerCycle { .. } = step {
                    // Real time goes on from where the simulation is now.
                    self.base_ms = self.sim.now_ms();
                    self.started = StdInstant::now();
                }
            }
            Err(e) => self.status = format!("not a step: {e} (? for help)"),
        }
    }

    fn draw(&mut self, f: &mut Frame<'_>) {
        let [top, middle, now_line, log_area, status, footer, input] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(10),
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(f.area());
        let w = self.sim.world.borrow();
        if !w.view.awake {
            // A dark keypad has discarded any unfinished entry (R-MNU-1).
            self.typed = 0;
        }

        let usb = if w.usb { " · USB" } else { "" };
        let header = format!(
            " simulated {}  battery {}%{usb}  used {} mAh ({})  ? help",
            clock(w.now),
            w.battery,
            used_mah(&w),
            ESP32C3.name,
        );
        f.render_widget(
            Paragraph::new(header).style(Style::default().add_modifier(Modifier::REVERSED)),
            top,
        );

        let [front, rear, voice] = Layout::horizontal([
            Constraint::Length(21),
            Constraint::Length(22),
            Constraint::Min(20),
        ])
        .areas(middle);

        // Front panel: the keypad (lit keys bright), the readers, and the
        // digits typed so far as dots along its bottom edge.
        let lit = |bit: u16| w.backlight & (1 << bit) != 0;
        let key = |label: &str, bit: u16| {
            let style = if lit(bit) {
                Style::default().fg(Color::Black).bg(Color::Yellow)
            } else {
                Style::default().fg(Color::DarkGray)
            };
            // Brackets too, for terminals without colour.
            let text = if lit(bit) {
                format!("[{label:^2}]")
            } else {
                format!(" {label:^2} ")
            };
            Span::styled(text, style)
        };
        let rows: [[(&str, u16); 3]; 4] = [
            [("1", 1), ("2", 2), ("3", 3)],
            [("4", 4), ("5", 5), ("6", 6)],
            [("7", 7), ("8", 8), ("9", 9)],
            [("<-", 10), ("0", 0), ("ok", 11)],
        ];
        let mut lines: Vec<Line<'_>> = rows
            .iter()
            .map(|row| Line::from(row.iter().map(|(l, b)| key(l, *b)).collect::<Vec<_>>()))
            .collect();
        lines.push(Line::from(vec![
            key("home", 12),
            Span::raw(" "),
            key("bell", 13),
        ]));
        for (name, m) in ["face", "palm", "finger"].iter().zip(&w.modules) {
            lines.push(Line::from(format!(
                "{name:<6} {} stored",
                m.templates.len()
            )));
        }
        let mut front_block = Block::bordered().title(" front ");
        if self.typed > 0 {
            front_block = front_block.title_bottom(format!(" {} ", "●".repeat(self.typed)));
        }
        f.render_widget(Paragraph::new(lines).block(front_block), front);

        // Rear panel, bolt, door, alarms.
        let alarms = w.view.alarm_names();
        let mut rear_lines = vec![
            Line::from(format!("bolt   {}", bolt_name(w.bolt))),
            Line::from(format!(
                "door   {}",
                if w.door_open { "open" } else { "closed" }
            )),
            Line::from(format!("motor  {}", if w.motor_on { "on" } else { "off" })),
            Line::from(format!("people {}", w.view.users)),
            Line::from(format!(
                "mode   {}",
                if w.view.in_menu {
                    "menu"
                } else if w.view.leaving_home {
                    "leaving home"
                } else if w.view.pairing {
                    "pairing"
                } else if w.view.muted {
                    "muted"
                } else {
                    "normal"
                }
            )),
            Line::from("SET · lock button"),
        ];
        rear_lines.push(Line::styled(
            if w.siren { "SIREN" } else { "siren off" },
            if w.siren {
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            },
        ));
        rear_lines.push(Line::styled(
            if alarms.is_empty() {
                "no alarm".to_string()
            } else {
                format!("ALARM {}", alarms.join(","))
            },
            Style::default().fg(if alarms.is_empty() {
                Color::Green
            } else {
                Color::Red
            }),
        ));
        f.render_widget(
            Paragraph::new(rear_lines).block(Block::bordered().title(" rear / body ")),
            rear,
        );

        // Voice: what each prompt said, newest last, then the clip playing
        // now while it plays (a clip takes its length: the lock is still
        // speaking).
        let playing = w.playing();
        let height = usize::from(voice.height.saturating_sub(2))
            .saturating_sub(usize::from(playing.is_some()));
        // The newest clips are enough for a panel of prompts (naming all of
        // a long session's every frame would slow the terminal).
        let recent = w.clips.len().saturating_sub(RECENT_CLIPS);
        let prompts = group_prompts(w.clips.get(recent..).unwrap_or_default());
        let start = prompts.len().saturating_sub(height);
        let newest = prompts.len().saturating_sub(1);
        let mut prompt_lines: Vec<Line<'_>> = prompts
            .iter()
            .enumerate()
            .skip(start)
            .map(|(i, (t, p))| {
                let text = format!("{} {}", clock(*t), meaning_of(p).says);
                if i == newest {
                    Line::styled(text, Style::default().add_modifier(Modifier::BOLD))
                } else {
                    Line::from(text)
                }
            })
            .collect();
        if let Some(clip) = playing {
            prompt_lines.push(Line::from(Span::styled(
                format!("▶ playing: {}", clip_name(clip)),
                Style::default().fg(Color::Black).bg(Color::Cyan),
            )));
        }
        f.render_widget(
            Paragraph::new(prompt_lines).block(Block::bordered().title(" voice ")),
            voice,
        );

        // What the lock waits for: the newest prompt's meaning while the
        // keypad is awake, else how to begin.
        let waits = match prompts.last() {
            // A prompt older than the keypad's 20 s awake (R-MNU-1) waits
            // for nothing any more, unless the menu or first start is open.
            Some((t, p))
                if w.view.awake
                    && (w.view.in_menu
                        || w.view.users == 0
                        || w.now.saturating_sub(*t) < AWAKE_MS) =>
            {
                meaning_of(p).to_string()
            }
            _ => idle_hint(w.view.users, w.view.awake).to_string(),
        };
        f.render_widget(
            Paragraph::new(format!(" » {waits}")).style(
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ),
            now_line,
        );

        // The event log, newest last, paged back by PgUp.
        let rows = usize::from(log_area.height.saturating_sub(2)).max(1);
        self.log_rows = rows;
        let total = w.log.len();
        self.log_back = self.log_back.min(total.saturating_sub(rows));
        let end = total.saturating_sub(self.log_back);
        let start = end.saturating_sub(rows);
        let log_lines: Vec<Line<'_>> = w
            .log
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|r| Line::from(format!("{} {}", clock(r.at.millis()), describe(&r.entry))))
            .collect();
        let title = if self.log_back > 0 {
            format!(" event log: {} newer below (PgDn) ", self.log_back)
        } else if start > 0 {
            format!(" event log: {start} older (PgUp) ")
        } else {
            " event log ".to_string()
        };
        f.render_widget(
            Paragraph::new(log_lines).block(Block::bordered().title(title)),
            log_area,
        );
        drop(w);
        f.render_widget(Paragraph::new(self.status.as_str()), status);
        let footer_text = self.pairing_codes.as_deref().unwrap_or(FOOTER);
        f.render_widget(
            Paragraph::new(footer_text).style(Style::default().fg(Color::DarkGray)),
            footer,
        );
        // The end of a long line stays in sight.
        let shown: String = {
            let width = usize::from(input.width.saturating_sub(3));
            let skip = self.input.chars().count().saturating_sub(width);
            self.input.chars().skip(skip).collect()
        };
        f.render_widget(Paragraph::new(format!("> {shown}_")), input);

        if let Some(page) = self.help {
            self.help = Some(draw_help(f, page));
        }
    }
}

/// What to do when no prompt is waiting for an answer.
fn idle_hint(users: usize, awake: bool) -> &'static str {
    match (users, awake) {
        (0, false) => "keypad dark — Enter (✓) wakes it and first start goes on",
        (0, true) => "first start — Enter (✓), then 1 right-opening or 2 left-opening door",
        (_, false) => "keypad dark — type a passcode and Enter (✓) to open; `set`: the menu",
        (_, true) => "type a passcode and Enter (✓) to open; `set` opens the menu",
    }
}

/// The energy the lock has used since this start, on the ESP32-C3 (the
/// first board of `lock-sim energy`), in mAh with three decimals.
fn used_mah(w: &crate::world::World) -> String {
    let Some(account) = w.energy.as_ref() else {
        return "?".into();
    };
    let times = account.times_at(w.now);
    let nano_amp_micros = charges(&ESP32C3, &times)
        .iter()
        .fold(0u128, |a, c| a.saturating_add(*c));
    // nA·µs in a µAh.
    let micro_amp_hours = nano_amp_micros / 3_600_000_000_000;
    format!("{}.{:03}", micro_amp_hours / 1000, micro_amp_hours % 1000)
}

/// The help over the whole screen at `page` (clamped), paged to its
/// height; returns the page shown.
fn draw_help(f: &mut Frame<'_>, page: usize) -> usize {
    let area = f.area();
    let lines = crate::help::lines();
    let rows = usize::from(area.height.saturating_sub(2)).max(1);
    let pages = lines.len().div_ceil(rows).max(1);
    let page = page.min(pages.saturating_sub(1));
    let shown: Vec<Line<'_>> = lines
        .into_iter()
        .skip(page.saturating_mul(rows))
        .take(rows)
        .map(|l| {
            if l.starts_with(' ') {
                Line::from(l)
            } else {
                Line::styled(l, Style::default().add_modifier(Modifier::BOLD))
            }
        })
        .collect();
    let title = format!(
        " help {}/{pages} · Esc closes · PgDn/Space next · PgUp back ",
        page.saturating_add(1)
    );
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(shown).block(Block::bordered().title(title)),
        area,
    );
    page
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Clips played at the same moment are one batch, and so are the digits
/// and the reason that follow a number's or a failure's first clip (they
/// are queued and play later); named as prompts.
fn group_prompts(clips: &[(u64, u16)]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut batch: Vec<u16> = Vec::new();
    let mut at = None;
    for &(t, c) in clips {
        let name = clip_name(c);
        let continues = name.starts_with("digit ") || name == "point" || name.starts_with("why: ");
        if at.is_some_and(|a| a != t) && !continues {
            for p in decode_clips(&batch) {
                out.push((at.unwrap_or(0), p));
            }
            batch.clear();
            at = None;
        }
        at = at.or(Some(t));
        batch.push(c);
    }
    for p in decode_clips(&batch) {
        out.push((at.unwrap_or(0), p));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::world::SimFlash;

    /// A fresh terminal lock counting its energy, saving beside the test.
    fn fresh(name: &str) -> App {
        let dir = std::env::temp_dir().join(format!("lock-sim-tui-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (_, sectors) = flash_layout();
        let mut sim = Sim::unpowered(SimFlash::new(sectors));
        sim.world.borrow_mut().count_energy();
        sim.boot().unwrap();
        App::new(sim, dir.join("lock.flash"))
    }

    /// The screen as text, 80×24.
    fn screen(app: &mut App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| app.draw(f)).unwrap();
        let buffer = terminal.backend().buffer();
        let mut text = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                text.push_str(buffer[(x, y)].symbol());
            }
            text.push('\n');
        }
        text
    }

    fn key(app: &mut App, code: KeyCode) -> Flow {
        app.on_key(code, KeyModifiers::NONE).unwrap()
    }

    /// Types `text` key by key.
    fn type_keys(app: &mut App, text: &str) {
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
    }

    /// Types a line and Enter.
    fn type_line(app: &mut App, line: &str) {
        type_keys(app, line);
        key(app, KeyCode::Enter);
    }

    #[test]
    fn the_first_screen_says_where_to_start() {
        let mut app = fresh("first");
        let s = screen(&mut app);
        assert!(s.contains("press ? for help"), "{s}");
        assert!(
            s.contains("» door direction — ✓, then 1 right-opening or 2 left-opening"),
            "{s}"
        );
        assert!(s.contains("mAh (ESP32-C3)"), "{s}");
        assert!(s.contains("PgUp/PgDn: log"), "{s}");
        assert!(FOOTER.chars().count() <= 80);
    }

    #[test]
    fn the_keypad_takes_digits_enter_and_backspace() {
        let mut app = fresh("keypad");
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Char('1'));
        key(&mut app, KeyCode::Enter);
        let s = screen(&mut app);
        assert!(s.contains("door-direction: right"), "{s}");
        assert!(s.contains("» enter a passcode"), "{s}");
        // Dots up to the lock's 16 digits, however many are typed.
        type_keys(&mut app, "48291");
        assert!(screen(&mut app).contains(" ●●●●● "));
        type_keys(&mut app, "12345678901234567890");
        let s = screen(&mut app);
        assert_eq!(s.matches('●').count(), 16, "{s}");
        // ↩ clears the entry.
        key(&mut app, KeyCode::Backspace);
        let s = screen(&mut app);
        assert_eq!(s.matches('●').count(), 0, "{s}");
        // A letter first starts a command line; Esc clears it, and only
        // then quits.
        type_keys(&mut app, "wait 1s");
        assert!(screen(&mut app).contains("> wait 1s_"));
        assert_eq!(key(&mut app, KeyCode::Esc), Flow::Go);
        assert!(screen(&mut app).contains("> _"));
        assert_eq!(key(&mut app, KeyCode::Esc), Flow::Quit);
    }

    #[test]
    fn the_help_pages_and_closes() {
        let mut app = fresh("help");
        key(&mut app, KeyCode::Char('?'));
        let s = screen(&mut app);
        assert!(s.contains("help 1/3"), "{s}");
        assert!(!s.contains("rear / body"), "{s}");
        for _ in 0..5 {
            key(&mut app, KeyCode::PageDown);
        }
        let s = screen(&mut app);
        assert!(
            s.contains("help 3/3") && s.contains("expect bolt unlocked"),
            "{s}"
        );
        key(&mut app, KeyCode::PageUp);
        assert!(screen(&mut app).contains("help 2/3"));
        // The help takes the keys: a digit presses nothing.
        key(&mut app, KeyCode::Char('1'));
        assert_eq!(key(&mut app, KeyCode::Esc), Flow::Go);
        let s = screen(&mut app);
        assert!(
            s.contains("rear / body") && !s.contains("door-direction: right"),
            "{s}"
        );
        type_line(&mut app, "help");
        assert!(screen(&mut app).contains("help 1/3"));
    }

    #[test]
    fn the_event_log_pages() {
        let mut app = fresh("log");
        type_line(&mut app, "ok 1");
        type_line(&mut app, "ok 482915 ok 482915 ok");
        type_line(&mut app, "back");
        for _ in 0..4 {
            type_line(&mut app, "wait 30s");
            type_line(&mut app, "touch");
            type_line(&mut app, "482915 ok");
            type_line(&mut app, "wait 5s");
            type_line(&mut app, "lock-button");
        }
        let s = screen(&mut app);
        assert!(s.contains("older (PgUp)"), "{s}");
        assert!(!s.contains("door-direction: right"), "{s}");
        key(&mut app, KeyCode::PageUp);
        key(&mut app, KeyCode::PageUp);
        let s = screen(&mut app);
        assert!(s.contains("newer below (PgDn)"), "{s}");
        assert!(s.contains("door-direction: right"), "{s}");
        key(&mut app, KeyCode::PageDown);
        key(&mut app, KeyCode::PageDown);
        assert!(screen(&mut app).contains("older (PgUp)"));
    }

    #[test]
    fn a_bad_step_is_a_message_not_a_panic() {
        let mut app = fresh("bad");
        for line in [
            "frobnicate",
            "keys",
            "wait forever",
            "battery 300",
            "app",
            "expect",
            "☃",
        ] {
            type_line(&mut app, line);
            let s = screen(&mut app);
            assert!(
                s.contains("not a step") && s.contains("? for help"),
                "{line}: {s}"
            );
        }
        type_line(&mut app, "expect bolt unlocked");
        assert!(screen(&mut app).contains("does not hold"));
    }

    #[cfg(feature = "matter")]
    #[test]
    fn r_mtr_1_the_terminal_shows_the_pairing_codes_while_commissioning_is_open() {
        // What the device says, without a device (no network in unit tests:
        // tests/matter runs the real one in a namespace of its own).
        let mut app = fresh("matter");
        let (tx, rx) = std::sync::mpsc::channel();
        let dir = std::env::temp_dir().join(format!("lock-sim-tui-codes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let beside = crate::matter::Beside::new(&dir.join("lock.flash")).unwrap();
        app.matter = Some((beside, rx));
        tx.send(Said::Ready).unwrap();
        app.hear_matter();
        assert!(screen(&mut app).contains("Matter: ready"));
        tx.send(Said::Open {
            discriminator: 3840,
            passcode: 20_202_021,
            qr: "MT:Y.K9042C00KA0648G00".into(),
            manual: "34970112332".into(),
        })
        .unwrap();
        app.hear_matter();
        let s = screen(&mut app);
        assert!(
            s.contains("Matter: commissioning open, pairing code 3497-011-2332"),
            "{s}"
        );
        assert!(
            s.contains(" Matter pairing code 3497-011-2332 · QR MT:Y.K9042C00KA0648G00"),
            "{s}"
        );
        assert!(
            !s.contains("PgUp/PgDn: log"),
            "the codes stand in the footer: {s}"
        );
        tx.send(Said::Closed).unwrap();
        app.hear_matter();
        let s = screen(&mut app);
        assert!(s.contains("Matter: commissioning closed") && s.contains("PgUp/PgDn: log"));
        assert!(!s.contains("3497-011-2332"), "{s}");
        tx.send(Said::Stopped("StdIoError".into())).unwrap();
        app.hear_matter();
        assert!(screen(&mut app).contains("Matter stopped: StdIoError"));
        assert_eq!(manual_code("123"), "123", "not 11 digits: as it came");
    }
}
