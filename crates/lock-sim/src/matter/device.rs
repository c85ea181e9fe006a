//! The Matter device beside the simulated lock: rs-matter's transport on
//! UDP `[::]:5540`, its built-in mDNS responder bound to one interface
//! (IPv6 only), the interaction model and responder, and a task that
//! follows the lock with lock-matter's [`Window`]: the commissioning window
//! is open exactly while the lock's pairing mode is (R-MTR-1, R-MNU-7), a
//! new fabric is told to the lock, and a factory reset removes every
//! fabric (R-MNU-9).
//!
//! Everything runs on one thread of its own (`futures_lite::block_on`);
//! it meets the lock's thread only through the [`MatterBridge`] and an
//! atomic count of power cycles.
//!
//! Endpoint 1 is a Door Lock (device type 0x000A) with Descriptor,
//! Identify and lock-matter's Door Lock cluster handler.
//!
//! The device is rs-matter's test device (vendor 0xFFF1, its test device
//! attestation, which chains to the public test PAA in tests/matter/paa):
//! a development device, not a certified one. Its fabrics live in
//! rs-matter's `DirKvBlobStore` beside the flash file; keeping them in
//! lock-store with the rest of the lock's state is later work.

use core::pin::pin;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use embassy_futures::select::{select, select4};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use lock_matter::cluster::DoorLockHandler;
use lock_matter::{Look, Request, Window};
use rs_matter::crypto::{Crypto, default_crypto};
use rs_matter::dm::clusters::decl::door_lock;
use rs_matter::dm::clusters::desc::{self, ClusterHandler as _};
use rs_matter::dm::clusters::identify::{self, IdentifyHandler};
use rs_matter::dm::devices::test::{DAC_PRIVKEY, TEST_DEV_ATT, TEST_DEV_DET};
use rs_matter::dm::endpoints;
use rs_matter::dm::networks::SysNetifs;
use rs_matter::dm::networks::eth::EthNetwork;
use rs_matter::dm::{Async, Dataver, DeviceType, Endpoint, Node};
use rs_matter::error::{Error, ErrorCode};
use rs_matter::im::{EthInteractionModelState, InteractionModel};
use rs_matter::pairing::DiscoveryCapabilities;
use rs_matter::pairing::qr::{CommFlowType, NoOptionalData, QrPayload, no_optional_data};
use rs_matter::persist::DirKvBlobStore;
use rs_matter::respond::DefaultResponder;
use rs_matter::sc::pase::MAX_COMM_WINDOW_TIMEOUT_SECS;
use rs_matter::transport::MATTER_SOCKET_BIND_ADDR;
use rs_matter::transport::exchange::MatterBuffers;
use rs_matter::utils::select::Coalesce;
use rs_matter::{BasicCommData, MATTER_PORT, Matter, clusters, devices, root_endpoint};

use super::onboarding::Onboarding;
use crate::sim::MatterBridge;

/// Door Lock, device type 0x000A, revision 4 (Matter device library 5.2).
pub const DEV_TYPE_DOOR_LOCK: DeviceType = DeviceType {
    dtype: 0x000A,
    drev: 4,
};

/// The Door Lock's endpoint.
pub const DOOR_LOCK_ENDPOINT: u16 = 1;

/// How often the device looks at the lock's view (pairing mode, factory
/// resets): the bridge's change signal belongs to the Door Lock handler.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// What the device needs from the lock's side.
pub struct Device {
    /// The interface the mDNS responder binds to; `None`: the first one
    /// with a non-loopback IPv6 address.
    pub iface: Option<String>,
    /// Where the fabrics are kept (`FILE.matter/`).
    pub kv_dir: PathBuf,
    /// The device's onboarding codes.
    pub codes: Onboarding,
    /// The bridge to the lock.
    pub bridge: &'static MatterBridge,
    /// Power cycles of the lock so far (the lock's thread counts them).
    pub power_cycles: &'static AtomicU32,
    /// Where what the device has to say goes.
    pub say: Box<dyn Fn(Said) + Send>,
}

/// What the device tells the person at the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// It listens.
    Ready,
    /// The commissioning window opened (pairing mode, R-MTR-1), with the
    /// device's onboarding codes.
    Open {
        /// The setup discriminator.
        discriminator: u16,
        /// The setup passcode.
        passcode: u32,
        /// The QR code's text, `MT:…`.
        qr: String,
        /// The 11-digit manual pairing code.
        manual: String,
    },
    /// The window closed.
    Closed,
    /// Every fabric was removed (a factory reset).
    FabricsRemoved,
    /// The device stopped, and why.
    Stopped(String),
}

/// The `matter: …` lines of `lock-sim matter` (tests/matter/README.md).
impl core::fmt::Display for Said {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Said::Ready => write!(f, "matter: ready"),
            Said::Open {
                discriminator,
                passcode,
                qr,
                manual,
            } => write!(
                f,
                "matter: commissioning open discriminator={discriminator} passcode={passcode} qr={qr} manual={manual}"
            ),
            Said::Closed => write!(f, "matter: commissioning closed"),
            Said::FabricsRemoved => write!(f, "matter: fabrics removed"),
            Said::Stopped(why) => write!(f, "matter: stopped: {why}"),
        }
    }
}

/// Starts the device on a thread of its own. It says [`Said::Ready`] once
/// it listens; if it stops, [`Said::Stopped`] with why.
pub fn spawn(device: Device) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("matter".into())
        // rs-matter's futures are large; the main thread's 8 MiB is what
        // its examples run in.
        .stack_size(16 << 20)
        .spawn(move || {
            if let Err(e) = run(&device) {
                log::error!("the Matter device stopped: {e:?}");
                (device.say)(Said::Stopped(format!("{e:?}")));
            }
        })
}

/// The onboarding payloads of `comm`: the QR code's text (`MT:…`) and the
/// 11-digit manual pairing code.
fn payloads(comm: &BasicCommData) -> Result<(String, String), Error> {
    let payload = QrPayload::new_from_basic_info(
        DiscoveryCapabilities::IP,
        CommFlowType::Standard,
        comm.clone(),
        &TEST_DEV_DET,
        no_optional_data as NoOptionalData,
    );
    let mut buf = [0u8; 128];
    let (qr, _) = payload.as_str(&mut buf)?;
    Ok((qr.to_string(), comm.compute_pairing_code().to_string()))
}

fn run(device: &Device) -> Result<(), Error> {
    let comm = device.codes.comm();
    let (qr, manual) = payloads(&comm)?;
    let matter = Matter::new(&TEST_DEV_DET, comm, &TEST_DEV_ATT, MATTER_PORT);

    std::fs::create_dir_all(&device.kv_dir)?;
    let kv = matter.kv(DirKvBlobStore::new(device.kv_dir.clone()));
    matter.startup(&kv)?;

    let buffers: MatterBuffers = MatterBuffers::new();
    let state: EthInteractionModelState = EthInteractionModelState::new(EthNetwork::new_default());
    let crypto = default_crypto(rand::rng(), DAC_PRIVKEY);
    let mut rand = crypto.rand()?;
    // lock-matter's handler: reads from the lock's published view,
    // commands to the lock's core over the bridge.
    let door_lock = DoorLockHandler::new(
        Dataver::new_rand(&mut rand),
        DOOR_LOCK_ENDPOINT,
        device.bridge,
    );
    let data_model = (
        NODE,
        endpoints::EthSysHandlerBuilder::new()
            .netif_diag(&SysNetifs)
            .build(rand)
            .chain(
                |e, c| e == DOOR_LOCK_ENDPOINT && c == desc::DescHandler::CLUSTER.id,
                Async(desc::DescHandler::new(Dataver::new_rand(&mut rand)).adapt()),
            )
            .chain(
                |e, c| e == DOOR_LOCK_ENDPOINT && c == identify::CLUSTER.id,
                Async(IdentifyHandler::new(Dataver::new_rand(&mut rand)).adapt()),
            )
            .chain(
                |e, c| e == DOOR_LOCK_ENDPOINT && c == door_lock::FULL_CLUSTER.id,
                door_lock::HandlerAsyncAdaptor(&door_lock),
            ),
    );
    let im = InteractionModel::new(&matter, &crypto, &buffers, data_model, &kv, &state);
    futures_lite::future::block_on(im.startup())?;
    let responder = DefaultResponder::new(&im);

    let socket = async_io::Async::<UdpSocket>::bind(MATTER_SOCKET_BIND_ADDR)?;
    let (mdns_socket, iface_index, addresses) = mdns_socket(device.iface.as_deref())?;

    let mut transport = pin!(matter.run(&crypto, &socket, &socket, &socket));
    let mut mdns = pin!(async {
        use rs_matter::transport::network::Ipv4Addr;
        use rs_matter::transport::network::mdns::builtin::{BuiltinMdns, Host};
        BuiltinMdns::new()
            .run(
                &mdns_socket,
                &mdns_socket,
                &Host {
                    hostname: "lock-sim",
                    ip: Ipv4Addr::UNSPECIFIED,
                    ipv6: &addresses,
                },
                None,
                Some(iface_index),
                &matter,
                &crypto,
            )
            .await
    });
    let mut respond = pin!(responder.run::<4, 4>());
    let mut im_job = pin!(im.run());
    let look = || Look {
        pairing: device.bridge.view().is_some_and(|v| v.pairing),
        power_cycles: device.power_cycles.load(Ordering::Acquire),
        factory_resets: device.bridge.factory_resets(),
        fabrics: matter.with_state(|s| s.fabrics.iter().map(|f| f.fab_idx().get()).collect()),
        window_open: matter.comm_window_state().is_open(),
    };
    let follow_lock = async || -> Result<(), Error> {
        let mut window = Window::new(&look());
        loop {
            let plan = window.follow(&look());
            for fabric in plan.commissioned.iter() {
                // The lock logs it as a pairing, which ends pairing mode.
                let _ = device.bridge.ask(Request::Commissioned { fabric }).await;
            }
            if plan.close {
                im.close_comm_window()?;
            }
            if plan.say_closed {
                (device.say)(Said::Closed);
            }
            if plan.forget_fabrics {
                // Both halves of rs-matter's factory reset (the node's
                // fabrics and settings, the data model's state), then
                // nothing left on disk.
                matter.factory_reset(&kv)?;
                im.factory_reset().await?;
                wipe(&device.kv_dir);
                (device.say)(Said::FabricsRemoved);
            }
            if plan.open {
                im.open_basic_comm_window(MAX_COMM_WINDOW_TIMEOUT_SECS)?;
                (device.say)(Said::Open {
                    discriminator: device.codes.discriminator,
                    passcode: device.codes.passcode,
                    qr: qr.clone(),
                    manual: manual.clone(),
                });
            }
            async_io::Timer::after(FOLLOW_EVERY).await;
        }
    };
    let mut follow = pin!(follow_lock());

    (device.say)(Said::Ready);
    let all = select(
        select4(&mut transport, &mut mdns, &mut respond, &mut im_job).coalesce(),
        &mut follow,
    )
    .coalesce();
    futures_lite::future::block_on(all)
}

/// Removes the files of the fabric store in `dir` (one file a key).
fn wipe(dir: &std::path::Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

const NODE: Node<'static> = Node {
    endpoints: &[
        root_endpoint!(eth),
        Endpoint::new(
            DOOR_LOCK_ENDPOINT,
            devices!(DEV_TYPE_DOOR_LOCK),
            clusters!(
                desc::DescHandler::CLUSTER,
                identify::CLUSTER,
                DoorLockHandler::<'static, CriticalSectionRawMutex>::CLUSTER
            ),
        ),
    ],
};

/// The mDNS socket: `[::]:5353`, IPv6 only, joined to the mDNS group on
/// `iface`; with the interface's index and IPv6 addresses (what the
/// responder advertises).
fn mdns_socket(
    iface: Option<&str>,
) -> Result<
    (
        async_io::Async<UdpSocket>,
        u32,
        Vec<rs_matter::transport::network::Ipv6Addr>,
    ),
    Error,
> {
    use rs_matter::transport::network::mdns::{
        MDNS_IPV6_BROADCAST_ADDR, MDNS_SOCKET_DEFAULT_BIND_ADDR,
    };
    use socket2::{Domain, Protocol, Socket, Type};

    let all = if_addrs::get_if_addrs()?;
    let name = match iface {
        Some(name) => name.to_string(),
        None => all
            .iter()
            .find(|ia| !ia.is_loopback() && matches!(ia.addr, if_addrs::IfAddr::V6(_)))
            .map(|ia| ia.name.clone())
            .ok_or(ErrorCode::StdIoError)?,
    };
    let mut index = 0;
    let mut addresses = Vec::new();
    for ia in all.iter().filter(|ia| ia.name == name) {
        if let if_addrs::IfAddr::V6(a) = &ia.addr {
            index = ia.index.unwrap_or(0);
            addresses.push(a.ip.octets().into());
        }
    }
    if addresses.is_empty() {
        log::error!("no IPv6 address on {name}");
        return Err(ErrorCode::StdIoError.into());
    }
    log::info!("mDNS on {name} (index {index}) with {addresses:?}");
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_only_v6(true)?;
    socket.bind(&MDNS_SOCKET_DEFAULT_BIND_ADDR.into())?;
    let socket = async_io::Async::<UdpSocket>::new_nonblocking(socket.into())?;
    socket
        .get_ref()
        .join_multicast_v6(&MDNS_IPV6_BROADCAST_ADDR, index)?;
    Ok((socket, index, addresses))
}
