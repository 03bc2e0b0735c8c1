//! The consortium network on libp2p: TCP + Noise + yamux, consensus messages and state
//! transfer as one-way requests on direct streams, acknowledged by one byte.
//!
//! The behaviour decides nothing about consensus: it moves canonical bytes between the node
//! loop and admitted peers.
//!
//! Invariants:
//! - only peers of the validator / observer set are admitted (`allow_block_list`): any other
//!   peer's connection is closed as soon as the Noise handshake reveals its id;
//! - every frame is length-prefixed and at most [`MAX_MESSAGE_BYTES`]; a larger or malformed
//!   one fails that stream only; a frame's buffer grows with the bytes that actually arrive, so
//!   a length prefix alone allocates nothing (at most [`MAX_STREAMS`] streams are read at once);
//! - queues are bounded: the command and event channels hold [`QUEUE`] items, and frames
//!   received but not yet taken by the node hold at most [`MAX_QUEUED_BYTES`]; a full queue
//!   drops the newest message (consensus retransmits), and messages to a peer that is not
//!   connected are dropped, not queued;
//! - every admitted peer not connected is redialled every [`REDIAL`].

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, allow_block_list, identity, noise, tcp, yamux};
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Largest frame on the wire (a state-transfer reply of up to 64 blocks is capped below it).
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Capacity of the command and event queues.
pub const QUEUE: usize = 8_192;
/// Most bytes of received frames waiting for the node.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;
/// Most inbound streams read at once (over all peers).
pub const MAX_STREAMS: usize = 256;
/// The buffer a frame starts with; it grows as bytes arrive.
const FRAME_CHUNK: usize = 64 * 1024;

const _: () = assert!(MAX_MESSAGE_BYTES <= MAX_QUEUED_BYTES);
/// Redial period for admitted peers that are not connected.
pub const REDIAL: Duration = Duration::from_secs(1);
/// The protocol name.
pub const PROTOCOL: &str = "/credence/pbft/1";

/// Length-prefixed frames; the response is a single acknowledgement byte.
#[derive(Clone, Default)]
pub struct FrameCodec;

async fn read_frame<T: futures::AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MESSAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {MAX_MESSAGE_BYTES}"),
        ));
    }
    // Read what arrives rather than allocating what the prefix claims: a peer that sends only
    // a prefix costs this stream a small buffer, not `len` bytes.
    let mut buf = Vec::with_capacity(len.min(FRAME_CHUNK));
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame ended after {} of {len} bytes", buf.len()),
        ));
    }
    Ok(buf)
}

impl request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = Arc<Vec<u8>>;
    type Response = ();

    async fn read_request<T: futures::AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Request> {
        read_frame(io).await.map(Arc::new)
    }

    async fn read_response<T: futures::AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<()> {
        let mut ack = [0u8; 1];
        io.read_exact(&mut ack).await
    }

    async fn write_request<T: futures::AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Self::Request,
    ) -> io::Result<()> {
        let len = u32::try_from(req.len())
            .ok()
            .filter(|l| *l as usize <= MAX_MESSAGE_BYTES)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        io.write_all(&len.to_be_bytes()).await?;
        io.write_all(&req).await?;
        io.close().await
    }

    async fn write_response<T: futures::AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        (): (),
    ) -> io::Result<()> {
        io.write_all(&[1]).await?;
        io.close().await
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    rr: request_response::Behaviour<FrameCodec>,
}

/// What the network tells the node.
#[derive(Debug)]
pub enum NetEvent {
    /// A frame from an admitted peer.
    Message(PeerId, Arc<Vec<u8>>),
}

/// Where to send.
#[derive(Debug)]
pub enum Target {
    /// One peer.
    Peer(PeerId),
    /// Several peers.
    Peers(Vec<PeerId>),
}

enum Command {
    Send(Target, Arc<Vec<u8>>),
    Connected(oneshot::Sender<Vec<PeerId>>),
    Cut(bool),
}

/// Counters shared with the metrics.
#[derive(Default)]
pub struct NetStats {
    /// Connected admitted peers.
    pub peers: AtomicUsize,
    /// Frames dropped because a queue was full or the peer was not connected.
    pub dropped: AtomicU64,
    /// Connections refused (unknown peer) or failed.
    pub refused: AtomicU64,
    /// Bytes of received frames queued for the node (bounded by [`MAX_QUEUED_BYTES`]).
    pub queued_bytes: AtomicUsize,
}

impl NetStats {
    /// The node took a frame of `len` bytes off the event queue.
    pub fn taken(&self, len: usize) {
        self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
    }
}

/// The node's handle on the network task.
#[derive(Clone)]
pub struct Network {
    commands: mpsc::Sender<Command>,
    /// Counters.
    pub stats: Arc<NetStats>,
    /// This node's peer id.
    pub local: PeerId,
}

impl Network {
    /// Queues a frame; drops it (counted) if the queue is full.
    pub fn send(&self, target: Target, frame: Arc<Vec<u8>>) {
        if self.commands.try_send(Command::Send(target, frame)).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Cuts every link to the consortium (`true`: connections closed, none accepted or dialled,
    /// nothing sent) or heals them (`false`: dialling resumes). A fault for tests and drills,
    /// at the transport: the node itself runs on, as behind a severed cable.
    pub async fn cut(&self, cut: bool) {
        let _ = self.commands.send(Command::Cut(cut)).await;
    }

    /// Peers connected now.
    pub async fn connected(&self) -> Vec<PeerId> {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Connected(tx)).await.is_err() {
            return vec![];
        }
        rx.await.unwrap_or_default()
    }
}

/// Network settings.
pub struct NetConfig {
    /// This node's libp2p identity.
    pub keypair: identity::Keypair,
    /// Where to listen.
    pub listen: Multiaddr,
    /// Admitted peers and where to dial them.
    pub peers: BTreeMap<PeerId, Multiaddr>,
}

/// Why the network did not start.
#[derive(Debug, thiserror::Error)]
#[error("network: {0}")]
pub struct NetError(String);

/// Starts the network task; frames from peers arrive on `events`.
pub fn spawn(config: NetConfig, events: mpsc::Sender<NetEvent>) -> Result<Network, NetError> {
    let local = config.keypair.public().to_peer_id();
    let mut allowed = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
    for peer in config.peers.keys() {
        allowed.allow_peer(*peer);
    }
    let rr = request_response::Behaviour::with_codec(
        FrameCodec,
        [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(10))
            .with_max_concurrent_streams(MAX_STREAMS),
    );
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError(e.to_string()))?
        .with_behaviour(|_| Behaviour { allowed, rr })
        .map_err(|e| NetError(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3_600)))
        .build();
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| NetError(format!("cannot listen on {}: {e}", config.listen)))?;
    let peers: BTreeMap<PeerId, Multiaddr> = config.peers.into_iter().filter(|(p, _)| *p != local).collect();
    for (p, a) in &peers {
        swarm.add_peer_address(*p, a.clone());
    }
    let (commands, mut rx) = mpsc::channel(QUEUE);
    let stats = Arc::new(NetStats::default());
    let st = stats.clone();
    tokio::spawn(async move {
        let mut redial = tokio::time::interval(REDIAL);
        let mut cut = false;
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None => break,
                    Some(Command::Send(target, frame)) => {
                        let to = match target {
                            Target::Peer(p) => vec![p],
                            Target::Peers(ps) => ps,
                        };
                        for p in to {
                            if swarm.is_connected(&p) {
                                swarm.behaviour_mut().rr.send_request(&p, frame.clone());
                            } else {
                                st.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Some(Command::Connected(reply)) => {
                        let _ = reply.send(swarm.connected_peers().copied().collect());
                    }
                    Some(Command::Cut(c)) => {
                        // Disallowing a peer closes its connections and refuses new ones.
                        for p in peers.keys() {
                            if c {
                                swarm.behaviour_mut().allowed.disallow_peer(*p);
                            } else {
                                swarm.behaviour_mut().allowed.allow_peer(*p);
                            }
                        }
                        cut = c;
                        tracing::warn!(cut, "links to every peer {}", if c { "cut" } else { "healed" });
                    }
                },
                _ = redial.tick(), if !cut => {
                    for (p, a) in &peers {
                        if !swarm.is_connected(p) {
                            let _ = swarm.dial(libp2p::swarm::dial_opts::DialOpts::peer_id(*p)
                                .addresses(vec![a.clone()])
                                .condition(libp2p::swarm::dial_opts::PeerCondition::DisconnectedAndNotDialing)
                                .build());
                        }
                    }
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(BehaviourEvent::Rr(request_response::Event::Message {
                        peer,
                        message: request_response::Message::Request { request, channel, .. },
                        ..
                    })) => {
                        let _ = swarm.behaviour_mut().rr.send_response(channel, ());
                        let len = request.len();
                        if st.queued_bytes.load(Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
                            st.dropped.fetch_add(1, Ordering::Relaxed);
                        } else {
                            st.queued_bytes.fetch_add(len, Ordering::Relaxed);
                            if events.try_send(NetEvent::Message(peer, request)).is_err() {
                                st.taken(len);
                                st.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } => {
                        if num_established.get() == 1 {
                            st.peers.fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::debug!(%peer_id, "peer connected");
                    }
                    SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
                        if num_established == 0 {
                            st.peers.fetch_sub(1, Ordering::Relaxed);
                        }
                        tracing::debug!(%peer_id, "peer disconnected");
                    }
                    SwarmEvent::IncomingConnectionError { error, send_back_addr, .. } => {
                        st.refused.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%send_back_addr, %error, "incoming connection refused");
                    }
                    SwarmEvent::NewListenAddr { address, .. } => tracing::info!(%address, "p2p listening"),
                    _ => {}
                },
            }
        }
    });
    Ok(Network {
        commands,
        stats,
        local,
    })
}

/// Dials `addr` as `keypair` and tries to deliver one frame to `peer`: `Ok(true)` if the peer
/// acknowledged it, `Ok(false)` if it refused the connection or the frame. Used to check that
/// a node refuses peers outside its consortium.
pub async fn probe(
    keypair: identity::Keypair,
    peer: PeerId,
    addr: Multiaddr,
    frame: Vec<u8>,
) -> Result<bool, NetError> {
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError(e.to_string()))?
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                FrameCodec,
                [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(5)),
            )
        })
        .map_err(|e| NetError(e.to_string()))?
        .build();
    swarm.add_peer_address(peer, addr);
    swarm.behaviour_mut().send_request(&peer, Arc::new(frame));
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return Ok(false),
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { .. }, ..
                }) => return Ok(true),
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure { .. }) => return Ok(false),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod frame_tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn a_length_prefix_without_its_bytes_fails_the_stream_without_allocating_its_claim() {
        // Security finding 14: a peer sends only `0x01000000` (16 MiB) on a stream.
        let mut io = futures::io::Cursor::new(vec![1u8, 0, 0, 0, 7, 7]);
        let e = block_on(read_frame(&mut io)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("after 2 of 16777216 bytes"), "{e}");
    }

    #[test]
    fn frames_round_trip_and_oversized_prefixes_are_refused() {
        let mut io = futures::io::Cursor::new(vec![0u8, 0, 0, 3, 1, 2, 3]);
        assert_eq!(block_on(read_frame(&mut io)).unwrap(), vec![1, 2, 3]);
        let big = (MAX_MESSAGE_BYTES as u32 + 1).to_be_bytes().to_vec();
        let e = block_on(read_frame(&mut futures::io::Cursor::new(big))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
