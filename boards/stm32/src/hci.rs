//! The HCI controller's UART (USART3) as a [`link::Opener`], and the
//! controller's sleep mode (README.md, Energy: "The HCI link").

use bt_hci::cmd::{Cmd, Opcode, OpcodeGroup, SyncCmd};
use bt_hci::controller::{Controller, ControllerCmdSync};
use bt_hci::{FromHciBytesError, WriteHci};
use defmt::{info, warn};
use embassy_futures::select::{Either, select};
use embassy_stm32::Peri;
use embassy_stm32::mode::Async;
use embassy_stm32::peripherals::{DMA1_CH2, DMA1_CH3, PB13, PB14, PC10, PC11, USART3};
use embassy_stm32::usart::{self, RingBufferedUartRx, Uart, UartTx};
use embassy_time::{Duration, with_timeout};

use crate::link::{self, Port};

/// The HCI link: the Zephyr `hci_uart` sample's default and a speed every
/// CYW20819-class controller takes, H:4 with RTS/CTS.
pub const BAUD: u32 = 1_000_000;

/// USART3 with hardware flow control on PC10 (TX), PC11 (RX), PB14 (RTS),
/// PB13 (CTS), DMA1 channels 2 (TX) and 3 (RX), built only while the link
/// is up ([`link::serve`]). The receive side is a DMA ring: at 1 Mbit/s
/// the controller sends several packets back to back.
pub struct HciUart {
    pub usart: Peri<'static, USART3>,
    pub rx: Peri<'static, PC11>,
    pub tx: Peri<'static, PC10>,
    pub rts: Peri<'static, PB14>,
    pub cts: Peri<'static, PB13>,
    pub tx_dma: Peri<'static, DMA1_CH2>,
    pub rx_dma: Peri<'static, DMA1_CH3>,
    pub ring: &'static mut [u8],
}

impl link::Opener for HciUart {
    type Tx<'a> = UartTx<'a, Async>;
    type Rx<'a> = RingBufferedUartRx<'a>;

    fn open(&mut self) -> Result<(Self::Tx<'_>, Self::Rx<'_>), usart::ConfigError> {
        let mut config = usart::Config::default();
        config.baudrate = BAUD;
        // Without a controller RX idles high and CTS reads "not clear":
        // nothing is received and nothing sent.
        config.rx_pull = embassy_stm32::gpio::Pull::Up;
        config.cts_pull = embassy_stm32::gpio::Pull::Up;
        let uart = Uart::new_with_rtscts(
            self.usart.reborrow(),
            self.rx.reborrow(),
            self.tx.reborrow(),
            self.rts.reborrow(),
            self.cts.reborrow(),
            self.tx_dma.reborrow(),
            self.rx_dma.reborrow(),
            crate::Irqs,
            config,
        )?;
        let (tx, rx) = uart.split();
        Ok((tx, rx.into_ring_buffered(&mut *self.ring)))
    }
}

/// Infineon/Broadcom's vendor command "Set Sleep Mode Param" (HCI opcode
/// 0xFC27: OGF 0x3F, OCF 0x027), twelve one-byte parameters:
///
/// | # | parameter | here | |
/// |---|---|---|---|
/// | 1 | sleep mode | 1 | UART with the two wake lines |
/// | 2 | idle threshold, host | 2 | about 300 ms a unit |
/// | 3 | idle threshold, controller | 2 | about 300 ms a unit: how long HOST_WAKE stays asserted after its last byte |
/// | 4 | BT_WAKE (DEV_WAKE) active | 0 | active low |
/// | 5 | HOST_WAKE active | 0 | active low |
/// | 6 | allow host sleep during SCO | 0 | no SCO here |
/// | 7 | combine sleep mode and LPM | 1 | |
/// | 8 | tristate the UART TX line | 0 | TX stays driven (idle high) |
/// | 9–10 | USB suspend handling, resume timeout | 0 | USB only |
/// | 11 | BREAK to host | 0 | |
/// | 12 | pulsed HOST_WAKE | 0 | a level, not a pulse |
///
/// Sources (README.md, Energy): the bytes are cyw43-driver's
/// (`src/cyw43_bthci_uart.c`, "Configure sleep mode": `01 02 02 00 00 00
/// 01 00 00 00 00 00`); the field names and "1 = high, 0 = low" are
/// Linux's `drivers/bluetooth/hci_bcm.c` (`struct bcm_set_sleep_mode`,
/// `default_sleep_params`), which BTstack's `hci_bcm_set_sleep_mode`
/// (`src/hci_cmd.c`) also lists.
#[derive(Clone, Copy)]
pub struct SetSleepMode([u8; 12]);

/// The parameters above.
const SLEEP_MODE: [u8; 12] = [1, 2, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0];

impl WriteHci for SetSleepMode {
    fn size(&self) -> usize {
        3 + self.0.len()
    }

    fn write_hci<W: embedded_io::Write>(&self, mut writer: W) -> Result<(), W::Error> {
        writer.write_all(&self.header())?;
        writer.write_all(&self.0)
    }

    async fn write_hci_async<W: embedded_io_async::Write>(
        &self,
        mut writer: W,
    ) -> Result<(), W::Error> {
        writer.write_all(&self.header()).await?;
        writer.write_all(&self.0).await
    }
}

impl Cmd for SetSleepMode {
    const OPCODE: Opcode = Opcode::new(OpcodeGroup::VENDOR_SPECIFIC, 0x027);
    type Params = [u8; 12];

    fn params(&self) -> &[u8; 12] {
        &self.0
    }
}

impl SyncCmd for SetSleepMode {
    type Return = ();
    type Handle = ();
    type ReturnBuf = [u8; 0];

    fn param_handle(&self) {}

    fn return_handle(_data: &[u8]) -> Result<(), FromHciBytesError> {
        Ok(())
    }
}

/// How long the controller may take to answer the sleep-mode command.
const ANSWER: Duration = Duration::from_secs(2);

/// Turns on the controller's UART sleep protocol and, if it took it, lets
/// the HCI link go down when idle (`port.set_sleeps(true)`). A
/// controller that does not know the command (any non-Infineon one, e.g.
/// Zephyr's `hci_uart`) or does not answer keeps the link up all the time,
/// as before: nothing would tell the chip when it has something to send.
///
/// Runs before the BLE host starts, reading the controller itself (bt-hci
/// completes a command only while someone reads). The setting is assumed to
/// survive the HCI Reset trouble-host sends next, as Linux's hci_bcm relies
/// on (it sets the sleep mode in its `setup`, then the core resets); not
/// proven on hardware.
pub async fn enable_sleep<C, const RX: usize, const TX: usize>(controller: &C, port: &Port<RX, TX>)
where
    C: Controller + ControllerCmdSync<SetSleepMode>,
{
    // The longest event: indicator, code, length and 255 bytes.
    let mut packet = [0u8; 258];
    let read = async {
        loop {
            // Anything else the controller says now (it has not been
            // reset yet) is of no use to the host.
            let _ = controller.read(&mut packet).await;
        }
    };
    let answer = with_timeout(
        ANSWER,
        select(SetSleepMode(SLEEP_MODE).exec(controller), read),
    )
    .await;
    match answer {
        Ok(Either::First(Ok(()))) => {
            info!("ble: controller sleep mode on; the HCI link sleeps when idle");
            port.set_sleeps(true);
        }
        Ok(Either::First(Err(_))) => {
            warn!(
                "ble: the controller refused the sleep mode (not an Infineon one?); the HCI link stays up, no STOP"
            );
        }
        Ok(Either::Second(())) | Err(_) => {
            warn!("ble: no answer to the sleep mode; the HCI link stays up, no STOP");
        }
    }
}
