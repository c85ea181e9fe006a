//! Matter over Wi-Fi, beside the BLE app link (feature `matter`;
//! README.md, Matter over Wi-Fi).
//!
//! esp-radio's Wi-Fi station joins the network named at build time
//! (`LOCK_WIFI_SSID`, `LOCK_WIFI_PASSWORD`); esp-radio's coexistence
//! arbiter shares the one antenna with the BLE controller (`radio.rs`).
//! embassy-net carries IPv6 on the station interface, with a link-local
//! address made from the station's MAC (EUI-64), and two UDP sockets: one
//! for Matter's messages (port 5540) and one, joined to ff02::fb, for
//! rs-matter's built-in mDNS responder (port 5353). rs-matter does not
//! depend on a network stack: `Udp` below gives it embassy-net's sockets
//! through its `NetworkSend` / `NetworkReceive` traits.
//!
//! The node: endpoint 0 is rs-matter's root endpoint for a device on an
//! IP network it is already on (`root_endpoint!(eth)`: the Wi-Fi
//! credentials come from the build, not from the commissioner); endpoint
//! 1 is a Door Lock (device type 0x000A) with Descriptor, Identify and
//! lock-matter's Door Lock cluster, which asks the lock's core over a
//! `lock_matter::Bridge` to the runtime's app side (`MatterApp`).
//!
//! Without `LOCK_WIFI_SSID` or `LOCK_WIFI_PASSWORD` in the build, or when
//! Wi-Fi does not start, `start` logs why and `run` stays pending: the
//! lock runs on without Matter. Nothing here panics.

use core::fmt::Write as _;
use core::net::{Ipv6Addr, SocketAddr};
use core::pin::pin;

use embassy_futures::select::{select, select3, select4};
use embassy_net::udp::{PacketMetadata, RecvError, UdpSocket};
use embassy_net::{Ipv6Cidr, StackResources, StaticConfigV6};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_time::{Duration, Timer};
use esp_hal::peripherals::WIFI;
use esp_hal::rng::Trng;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{
    AuthenticationMethodConfig, Config as WifiConfig, ControllerConfig, Interface, PowerSaveMode,
    WifiController,
};
use lock_matter::cluster::DoorLockHandler;
use lock_matter::{Bridge, Look, Request, Window};
use log::{error, info, warn};
use rs_matter::crypto::{Crypto as _, default_crypto};
use rs_matter::dm::clusters::decl::door_lock;
use rs_matter::dm::clusters::desc::{self, ClusterHandler as _};
use rs_matter::dm::clusters::identify;
use rs_matter::dm::devices::test::{DAC_PRIVKEY, TEST_DEV_ATT, TEST_DEV_COMM, TEST_DEV_DET};
use rs_matter::dm::endpoints::EthSysHandlerBuilder;
use rs_matter::dm::networks::eth::EthNetwork;
use rs_matter::dm::{Async, Dataver, DeviceType, Endpoint, Node};
use rs_matter::error::{Error, ErrorCode};
use rs_matter::im::{EthInteractionModelState, InteractionModel};
use rs_matter::pairing::DiscoveryCapabilities;
use rs_matter::persist::DummyKvBlobStore;
use rs_matter::respond::DefaultResponder;
use rs_matter::sc::pase::MAX_COMM_WINDOW_TIMEOUT_SECS;
use rs_matter::transport::exchange::MatterBuffers;
use rs_matter::transport::network::mdns::builtin::{BuiltinMdns, Host};
use rs_matter::transport::network::mdns::{MDNS_IPV6_BROADCAST_ADDR, MDNS_PORT};
use rs_matter::transport::network::{Address, NetworkReceive, NetworkSend, NoNetwork};
use rs_matter::utils::select::Coalesce;
use rs_matter::{Matter, clusters, devices, root_endpoint};

/// The network to join, fixed at build time. Both unset: Matter stays
/// down. An empty password (set, but to nothing) means an open network.
const WIFI_SSID: Option<&str> = option_env!("LOCK_WIFI_SSID");
const WIFI_PASSWORD: Option<&str> = option_env!("LOCK_WIFI_PASSWORD");

/// How long after a failed join or a lost link the station tries again.
const WIFI_RETRY: Duration = Duration::from_secs(10);
/// How long after rs-matter's stack stopped with an error it starts again.
const MATTER_RETRY: Duration = Duration::from_secs(10);

/// The Door Lock device type (Matter Device Library, 0x000A, revision 4).
const DEV_TYPE_DOOR_LOCK: DeviceType = DeviceType {
    dtype: 0x000A,
    drev: 4,
};
/// The endpoint the lock is on.
const LOCK_ENDPOINT: u16 = 1;

/// The Door Lock cluster's handler (lock-matter), over the bridge to the
/// runtime's app side; everything runs in `main`'s one task.
type DoorLock<'a> = DoorLockHandler<'a, NoopRawMutex>;

/// How often the lock's pairing mode and factory-reset count are looked
/// at (R-MTR-1). Looked at, not waited for: the bridge's change signal has
/// one waiter, the cluster handler's background task. A second at most
/// between a long press of SET and a commissionable lock; the chip does
/// not sleep while Wi-Fi is up anyway (README.md).
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// The manual pairing code of the device's onboarding codes (the test
/// codes, README.md), which the lock speaks in system information.
pub fn manual_code() -> u64 {
    // Eleven decimal digits always parse.
    TEST_DEV_COMM.compute_pairing_code().parse().unwrap_or(0)
}

/// The node: the root endpoint of a device on an IP network it has joined
/// by itself (the Ethernet flavour of Network Commissioning: the Wi-Fi
/// credentials are the build's, README.md), and the lock's endpoint.
const NODE: Node<'static> = Node {
    endpoints: &[
        root_endpoint!(eth),
        Endpoint::new(
            LOCK_ENDPOINT,
            devices!(DEV_TYPE_DOOR_LOCK),
            clusters!(
                desc::DescHandler::CLUSTER,
                identify::CLUSTER,
                DoorLock::<'static>::CLUSTER
            ),
        ),
    ],
};

/// UDP datagrams each socket queues, each way.
const SOCKET_PACKETS: usize = 4;
/// Each socket's payload buffer, each way: two of the largest datagrams
/// Matter receives.
const SOCKET_BYTES: usize = 2 * rs_matter::transport::network::MAX_RX_PACKET_SIZE;
/// embassy-net's socket slots: Matter's and mDNS's.
const SOCKETS: usize = 2;

/// One socket's buffers.
struct SocketBuffers {
    rx_meta: [PacketMetadata; SOCKET_PACKETS],
    rx: [u8; SOCKET_BYTES],
    tx_meta: [PacketMetadata; SOCKET_PACKETS],
    tx: [u8; SOCKET_BYTES],
}

impl SocketBuffers {
    const fn new() -> Self {
        SocketBuffers {
            rx_meta: [PacketMetadata::EMPTY; SOCKET_PACKETS],
            rx: [0; SOCKET_BYTES],
            tx_meta: [PacketMetadata::EMPTY; SOCKET_PACKETS],
            tx: [0; SOCKET_BYTES],
        }
    }

    fn socket<'a>(&'a mut self, stack: embassy_net::Stack<'a>) -> UdpSocket<'a> {
        UdpSocket::new(
            stack,
            &mut self.rx_meta,
            &mut self.rx,
            &mut self.tx_meta,
            &mut self.tx,
        )
    }
}

/// An embassy-net UDP socket as rs-matter's network. Both directions need
/// only a shared reference, so one socket serves as sender and receiver.
#[derive(Clone, Copy)]
struct Udp<'s, 'a>(&'s UdpSocket<'a>);

impl NetworkSend for Udp<'_, '_> {
    async fn send_to(&mut self, data: &[u8], addr: Address) -> Result<(), Error> {
        // IPv6 only: rs-matter is given no IPv4 interface, so it has no
        // IPv4 peer to answer (a scope id is not needed: one interface).
        let Some(SocketAddr::V6(to)) = addr.udp() else {
            return Err(ErrorCode::NoNetworkInterface.into());
        };
        // A datagram the stack cannot take now (no link, a full queue) is
        // a lost datagram, which Matter's reliable messaging resends and
        // mDNS repeats; an error here would stop rs-matter's transport.
        if let Err(why) = self.0.send_to(data, to).await {
            warn!("matter: a datagram to {to} not sent ({why:?})");
        }
        Ok(())
    }
}

impl NetworkReceive for Udp<'_, '_> {
    async fn wait_available(&mut self) -> Result<(), Error> {
        self.0.wait_recv_ready().await;
        Ok(())
    }

    async fn recv_from(&mut self, buffer: &mut [u8]) -> Result<(usize, Address), Error> {
        loop {
            match self.0.recv_from(buffer).await {
                Ok((len, meta)) => return Ok((len, Address::Udp(meta.endpoint.into()))),
                // Larger than rs-matter's buffer, so not a Matter message
                // (mDNS traffic of other services can be): dropped.
                Err(RecvError::Truncated) => {}
            }
        }
    }
}

/// The station's IPv6 link-local address: fe80::/64 with the interface
/// identifier made from its MAC (RFC 4291, appendix A).
fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([a ^ 0x02, b]),
        u16::from_be_bytes([c, 0xff]),
        u16::from_be_bytes([0xfe, d]),
        u16::from_be_bytes([e, f]),
    )
}

/// Keeps the station joined: joins, waits for the link to drop, and joins
/// again after `WIFI_RETRY`.
async fn keep_joined(controller: &mut WifiController<'_>) -> ! {
    loop {
        match controller.connect_async().await {
            Ok(_) => {
                info!("matter: Wi-Fi joined");
                match controller.wait_for_disconnect_async().await {
                    Ok(why) => warn!("matter: Wi-Fi lost ({why:?})"),
                    Err(why) => warn!("matter: Wi-Fi state unknown ({why:?})"),
                }
            }
            Err(why) => warn!("matter: Wi-Fi join failed ({why:?})"),
        }
        Timer::after(WIFI_RETRY).await;
    }
}

/// Refuses to start: says why, and stays pending so that the lock runs on.
async fn down(why: &str) -> ! {
    warn!("matter: {why}; Matter stays down");
    core::future::pending().await
}

/// The Wi-Fi station, started and not yet joined.
pub struct Station {
    controller: WifiController<'static>,
    interface: Interface,
}

/// Starts the Wi-Fi station, before the BLE controller: esp-radio starts
/// Wi-Fi with power saving off, which ESP-IDF's coexistence refuses while
/// Bluetooth runs ("Should enable WiFi modem sleep when both WiFi and
/// Bluetooth are enabled"), so it is switched to modem sleep (`Minimum`,
/// waking for each DTIM beacon) before BLE starts, and stays so while the
/// BLE controller stops and starts again (R-NRG-3, `radio.rs`).
///
/// `None`, with the reason logged, when the build names no network or
/// Wi-Fi does not start: Matter then stays down.
pub fn start(wifi: WIFI<'static>) -> Option<Station> {
    let refuse = |why: &str| {
        warn!("matter: {why}; Matter stays down");
        None
    };
    let (Some(ssid), Some(password)) = (WIFI_SSID, WIFI_PASSWORD) else {
        return refuse(
            "Wi-Fi is not configured (build with LOCK_WIFI_SSID and LOCK_WIFI_PASSWORD)",
        );
    };
    let Ok(ssid) = ssid.try_into() else {
        return refuse("LOCK_WIFI_SSID is longer than 32 bytes");
    };
    let authentication = if password.is_empty() {
        AuthenticationMethodConfig::Open
    } else {
        match password.try_into() {
            Ok(password) => AuthenticationMethodConfig::WpaWpa2Personal(password),
            Err(_) => return refuse("LOCK_WIFI_PASSWORD is longer than 64 bytes"),
        }
    };
    let station = StationConfig::default()
        .with_ssid(ssid)
        .with_authentication(authentication);
    let config = ControllerConfig::default().with_initial_config(WifiConfig::Station(station));
    let mut controller = match WifiController::new(wifi, config) {
        Ok(controller) => controller,
        Err(why) => {
            error!("matter: Wi-Fi did not start ({why:?})");
            return refuse("no Wi-Fi");
        }
    };
    if let Err(why) = controller.set_power_saving(PowerSaveMode::Minimum) {
        error!("matter: Wi-Fi modem sleep refused ({why:?})");
        return refuse("Wi-Fi cannot share the radio with BLE");
    }
    let Some(interface) = Interface::try_station() else {
        return refuse("the Wi-Fi station interface is taken");
    };
    Some(Station {
        controller,
        interface,
    })
}

/// Runs Matter over Wi-Fi for as long as the lock runs (module docs), on
/// the station `start` gave, or stays pending without one. The Door Lock
/// cluster asks the lock over `bridge` (lock-matter's `MatterApp` is the
/// runtime's app side).
pub async fn run(station: Option<Station>, bridge: &Bridge<NoopRawMutex>) -> ! {
    let Some(Station {
        mut controller,
        interface,
    }) = station
    else {
        core::future::pending().await
    };
    // The radio is on from `start`, so the RNG has its entropy source.
    let Ok(rng) = Trng::try_new() else {
        down("the RNG has no entropy source").await
    };

    let mac = interface.mac_address();
    let address = link_local(mac);
    let ip = embassy_net::Config::ipv6_static(StaticConfigV6 {
        address: Ipv6Cidr::new(address, 64),
        gateway: None,
        dns_servers: Default::default(),
    });
    let mut resources = StackResources::<SOCKETS>::new();
    let seed = u64::from(rng.random()) << 32 | u64::from(rng.random());
    let (stack, mut runner) = embassy_net::new(interface, ip, &mut resources, seed);
    // Without ff02::fb, queries from commissioners do not arrive; the
    // responder's announcements still leave. Logged, not fatal.
    if let Err(why) = stack.join_multicast_group(MDNS_IPV6_BROADCAST_ADDR) {
        warn!("matter: mDNS multicast group not joined ({why:?}); announcing only");
    }

    let mut matter_buffers = SocketBuffers::new();
    let mut mdns_buffers = SocketBuffers::new();
    let mut matter_socket = matter_buffers.socket(stack);
    let mut mdns_socket = mdns_buffers.socket(stack);
    if matter_socket.bind(rs_matter::MATTER_PORT).is_err() || mdns_socket.bind(MDNS_PORT).is_err() {
        down("the UDP ports are taken").await
    }

    let mut hostname = heapless::String::<12>::new();
    for byte in mac {
        // 12 hex digits fit.
        let _ = write!(hostname, "{byte:02X}");
    }
    let host = Host {
        hostname: &hostname,
        ip: core::net::Ipv4Addr::UNSPECIFIED,
        ipv6: &[address],
    };

    // rs-matter's stack. Test device details and attestation (README.md:
    // a product needs its own).
    let matter = Matter::new(
        &TEST_DEV_DET,
        TEST_DEV_COMM,
        &TEST_DEV_ATT,
        rs_matter::MATTER_PORT,
    );
    let buffers: MatterBuffers = MatterBuffers::new();
    let state: EthInteractionModelState = EthInteractionModelState::new(EthNetwork::new_default());
    // Fabrics live in rs-matter's RAM only: nothing is written to flash, so
    // a reset forgets the commissioning (README.md).
    let kv = matter.kv(DummyKvBlobStore);
    if let Err(why) = matter.startup(&kv) {
        error!("matter: start-up failed ({why:?})");
        down("no Matter state").await
    }
    let crypto = default_crypto(rng, DAC_PRIVKEY);
    let Ok(mut rand) = crypto.rand() else {
        down("no randomness for Matter").await
    };
    let sys = EthSysHandlerBuilder::new().build(&mut rand);
    let descriptor = desc::DescHandler::new(Dataver::new_rand(&mut rand)).adapt();
    let identify = identify::IdentifyHandler::new(Dataver::new_rand(&mut rand)).adapt();
    let door_lock = DoorLock::new(Dataver::new_rand(&mut rand), LOCK_ENDPOINT, bridge);
    let handler = sys
        .chain(
            |endpoint, cluster| {
                endpoint == LOCK_ENDPOINT && cluster == desc::DescHandler::CLUSTER.id
            },
            Async(descriptor),
        )
        .chain(
            |endpoint, cluster| endpoint == LOCK_ENDPOINT && cluster == identify::CLUSTER.id,
            Async(identify),
        )
        .chain(
            |endpoint, cluster| endpoint == LOCK_ENDPOINT && cluster == DoorLock::CLUSTER.id,
            door_lock::HandlerAsyncAdaptor(door_lock),
        );
    let im = InteractionModel::new(&matter, &crypto, &buffers, (NODE, handler), &kv, &state);
    if let Err(why) = im.startup().await {
        error!("matter: the data model did not start ({why:?})");
        down("no Matter data model").await
    }
    let responder = DefaultResponder::new(&im);

    let mut mdns = BuiltinMdns::new();
    let udp = Udp(&matter_socket);
    let mdns_udp = Udp(&mdns_socket);
    info!(
        "matter: on Wi-Fi as {address}, Matter port {}",
        rs_matter::MATTER_PORT
    );
    let matter_stack = async {
        loop {
            let mut transport = pin!(matter.run(&crypto, udp, udp, NoNetwork));
            let mut responding = pin!(responder.run::<4, 4>());
            let mut im_job = pin!(im.run());
            let mut discovery =
                pin!(mdns.run(mdns_udp, mdns_udp, &host, None, Some(0), &matter, &crypto));
            let result = select4(&mut transport, &mut responding, &mut im_job, &mut discovery)
                .coalesce()
                .await;
            error!("matter: the stack stopped ({result:?}); again in 10 s");
            Timer::after(MATTER_RETRY).await;
        }
    };
    // R-MTR-1: commissioning only while the lock's pairing mode is open;
    // R-MNU-9: a factory reset removes every fabric.
    let look = || Look {
        pairing: bridge.view().is_some_and(|view| view.pairing),
        // The board restarts with the lock: no power cycle to follow.
        power_cycles: 0,
        factory_resets: bridge.factory_resets(),
        fabrics: matter.with_state(|s| s.fabrics.iter().map(|f| f.fab_idx().get()).collect()),
        window_open: matter.comm_window_state().is_open(),
    };
    let follow_lock = async {
        let mut window = Window::new(&look());
        loop {
            let plan = window.follow(&look());
            for fabric in plan.commissioned.iter() {
                // The lock logs it as a pairing, which ends pairing mode.
                let _ = bridge.ask(Request::Commissioned { fabric }).await;
                info!("matter: fabric {fabric} commissioned");
            }
            if plan.close {
                // Already closed when rs-matter ended it after a
                // commissioning: nothing to do then.
                if let Err(why) = im.close_comm_window() {
                    warn!("matter: the commissioning window did not close ({why:?})");
                }
            }
            if plan.say_closed {
                info!("matter: commissioning closed");
            }
            if plan.forget_fabrics {
                if let Err(why) = matter.factory_reset(&kv) {
                    error!("matter: fabrics not removed ({why:?})");
                }
                if let Err(why) = im.factory_reset().await {
                    error!("matter: data model not reset ({why:?})");
                }
                info!("matter: the lock was reset; its fabrics are removed");
            }
            if plan.open {
                // The test passcode and discriminator (README.md).
                match im.open_basic_comm_window(MAX_COMM_WINDOW_TIMEOUT_SECS) {
                    Ok(()) => {
                        info!("matter: commissioning open while the lock pairs");
                        if let Err(why) = matter.print_standard_qr_text(DiscoveryCapabilities::IP) {
                            warn!("matter: no pairing code ({why:?})");
                        }
                    }
                    Err(why) => warn!("matter: the commissioning window did not open ({why:?})"),
                }
            }
            Timer::after(FOLLOW_EVERY).await;
        }
    };
    let network = select(runner.run(), keep_joined(&mut controller));
    // Each of these runs forever; should one end, Matter is down.
    let _ = select3(network, matter_stack, follow_lock).await;
    down("the network stopped").await
}
