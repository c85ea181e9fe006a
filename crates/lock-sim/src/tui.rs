//! The interactive lock in the terminal (`cargo run -p lock-sim`): the
//! simulated lock running in real time, drawn in 80×24 with ratatui, driven
//! by the scenario steps typed as commands (`keys 482915 ok`, `finger alice`,
//! `door open`, `wait 3m`); a bare run of keys (`ok 1`, `482915 ok`) is a
//! `keys` step. State persists in a flash file between runs.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use lock_core::Duration;
use lock_hal::BoltPosition;
use ratatui::DefaultTerminal;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::scenario::{Step, parse_step};
use crate::sim::{Sim, SimError, bolt_name, clip_name, decode_clips, describe};
use crate::world::{flash_layout, open_flash, save_flash};

/// Where the interactive lock keeps its flash unless told otherwise.
pub const DEFAULT_FLASH: &str = "lock-sim.flash";

/// Options of the interactive lock.
#[derive(Debug, Clone)]
pub struct Options {
    /// The flash image file.
    pub flash: PathBuf,
    /// Start factory-new (the files are replaced).
    pub fresh: bool,
}

/// What the biometric modules hold and where the bolt and door are: kept
/// beside the flash image (`FILE.world`), since the modules have their own
/// memory.
fn world_path(flash: &Path) -> PathBuf {
    let mut p = flash.as_os_str().to_owned();
    p.push(".world");
    PathBuf::from(p)
}

fn save(sim: &Sim, path: &Path) -> io::Result<()> {
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

fn load_world(sim: &Sim, path: &Path) {
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

struct App {
    sim: Sim,
    input: String,
    status: String,
    started: StdInstant,
    /// Simulated time at `started`.
    base_ms: u64,
    path: PathBuf,
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
    let flash = open_flash(&options.flash, sectors);
    // The modules and the bolt as they were, then power comes up.
    let mut sim = Sim::unpowered(flash);
    load_world(&sim, &options.flash);
    sim.boot()?;
    let mut app = App {
        base_ms: sim.now_ms(),
        sim,
        input: String::new(),
        status: "type a step (help: `help`), Enter to run it; Esc quits".into(),
        started: StdInstant::now(),
        path: options.flash.clone(),
    };
    let mut terminal = ratatui::try_init()?;
    let result = app.main_loop(&mut terminal);
    ratatui::restore();
    save(&app.sim, &app.path)?;
    result
}

impl App {
    fn main_loop(
        &mut self,
        terminal: &mut DefaultTerminal,
    ) -> Result<(), Box<dyn std::error::Error>> {
        loop {
            self.follow_real_time()?;
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
            match key.code {
                KeyCode::Esc => return Ok(()),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Ok(());
                }
                KeyCode::Enter => {
                    let line = std::mem::take(&mut self.input);
                    if matches!(line.trim(), "quit" | "exit" | "q") {
                        return Ok(());
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
        }
    }

    /// Simulated time catches up with real time (it may run ahead after a
    /// `wait` or key presses; then real time catches up with it).
    fn follow_real_time(&mut self) -> Result<(), SimError> {
        let real = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let target = self.base_ms.saturating_add(real);
        let now = self.sim.now_ms();
        if target > now {
            self.sim
                .wait(Duration::from_millis(target.saturating_sub(now)))?;
        }
        Ok(())
    }

    fn command(&mut self, line: &str) {
        if line.is_empty() {
            return;
        }
        if line == "help" {
            self.status = "keys 123 ok | touch | finger/face/palm NAME | set | set-hold | \
                lock-button | door open|close | key | tamper | battery N | usb on|off | \
                jam | wait 3m | power-cycle | expect …"
                .into();
            return;
        }
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
                if let Step::Wait(_) | Step::PowerCycle { .. } = step {
                    // Real time goes on from where the simulation is now.
                    self.base_ms = self.sim.now_ms();
                    self.started = StdInstant::now();
                }
            }
            Err(e) => self.status = format!("? {e}"),
        }
    }

    fn draw(&self, f: &mut Frame<'_>) {
        let [top, middle, log_area, status, input] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(10),
            Constraint::Min(4),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(f.area());
        let w = self.sim.world.borrow();

        let secs = w.now / 1000;
        let header = format!(
            " open door lock · simulator   t={:02}:{:02}:{:02}   battery {}%{}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60,
            w.battery,
            if w.usb { " · USB power" } else { "" },
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

        // Front panel: the keypad (lit keys bright) and the readers.
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
        f.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(" front ")),
            front,
        );

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

        // Voice: the prompts, newest last, then the clip playing now while
        // it plays (a clip takes its length: the lock is still speaking).
        let playing = w.playing();
        let height = usize::from(voice.height.saturating_sub(2))
            .saturating_sub(usize::from(playing.is_some()));
        let prompts = group_prompts(&w.clips);
        let start = prompts.len().saturating_sub(height);
        let mut prompt_lines: Vec<Line<'_>> = prompts
            .iter()
            .skip(start)
            .map(|(t, p)| Line::from(format!("{} {p}", clock(*t))))
            .collect();
        if let Some(clip) = playing {
            prompt_lines.push(Line::from(Span::styled(
                format!("▶ {}", clip_name(clip)),
                Style::default().fg(Color::Black).bg(Color::Cyan),
            )));
        }
        f.render_widget(
            Paragraph::new(prompt_lines).block(Block::bordered().title(" voice ")),
            voice,
        );

        // The event log, newest last.
        let height = usize::from(log_area.height.saturating_sub(2));
        let start = w.log.len().saturating_sub(height);
        let log_lines: Vec<Line<'_>> = w
            .log
            .iter()
            .skip(start)
            .map(|r| Line::from(format!("{} {}", clock(r.at.millis()), describe(&r.entry))))
            .collect();
        f.render_widget(
            Paragraph::new(log_lines).block(Block::bordered().title(" event log ")),
            log_area,
        );
        drop(w);
        f.render_widget(Paragraph::new(self.status.as_str()), status);
        f.render_widget(Paragraph::new(format!("> {}_", self.input)), input);
        let _: Rect = input;
    }
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Clips played at the same moment are one batch; named as prompts.
fn group_prompts(clips: &[(u64, u16)]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut batch: Vec<u16> = Vec::new();
    let mut at = None;
    for &(t, c) in clips {
        if at.is_some_and(|a| a != t) {
            for p in decode_clips(&batch) {
                out.push((at.unwrap_or(0), p));
            }
            batch.clear();
        }
        at = Some(t);
        batch.push(c);
    }
    for p in decode_clips(&batch) {
        out.push((at.unwrap_or(0), p));
    }
    out
}
