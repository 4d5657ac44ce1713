//! MTProto service messages, checked with grammers' own protocol layer (grammers-mtproto), the
//! way grammers reads them: `pong` and `future_salts` top-level, `gzip_packed` requests inflated,
//! wrapped unknown methods answered with `rpc_error`, `destroy_session` answered.

use grammers_client::tl::{self, Deserializable, Serializable};
use grammers_crypto::DequeBuffer;
use grammers_mtproto::MsgId;
use grammers_mtproto::mtp::{Deserialization, Encrypted, Mtp};
use grammers_mtproto::transport::{Full, Transport};
use telesim::Sim;
use telesim::world::World;
use telesim::world::demo::ALICE;
use testkit::guarded;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// grammers' protocol stack on a bare socket, one request at a time.
struct RawClient {
    stream: TcpStream,
    mtp: Encrypted,
    transport: Full,
    inbound: Vec<u8>,
}

impl RawClient {
    async fn connect(sim: &Sim, user_id: i64, compression_threshold: Option<usize>) -> RawClient {
        let key = sim.account(user_id).expect("an account").auth_key;
        RawClient {
            stream: TcpStream::connect(sim.addr).await.expect("connect"),
            mtp: Encrypted::build()
                .compression_threshold(compression_threshold)
                .finish(key),
            transport: Full::new(),
            inbound: Vec::new(),
        }
    }

    /// Sends one request and returns what grammers made of the answer to it.
    async fn call(&mut self, request: &[u8]) -> Deserialization {
        let mut buffer = DequeBuffer::with_capacity(request.len() + 128, 64);
        let msg_id = self
            .mtp
            .push(&mut buffer, request)
            .expect("the request fits");
        self.mtp.finalize(&mut buffer);
        self.transport.pack(&mut buffer);
        self.stream.write_all(&buffer[..]).await.expect("write");
        guarded("the answer", self.answer_to(msg_id)).await
    }

    async fn answer_to(&mut self, msg_id: MsgId) -> Deserialization {
        loop {
            match self.transport.unpack(&mut self.inbound) {
                Ok(offset) => {
                    let mut payload = self.inbound[offset.data_range].to_vec();
                    self.inbound.drain(..offset.next_offset);
                    for result in self.mtp.deserialize(&mut payload).expect("a valid payload") {
                        match &result {
                            Deserialization::RpcResult(r) if r.msg_id == msg_id => return result,
                            Deserialization::RpcError(e) if e.msg_id == msg_id => return result,
                            _ => {}
                        }
                    }
                }
                Err(grammers_mtproto::transport::Error::MissingBytes) => {
                    let mut chunk = [0u8; 64 * 1024];
                    let n = self.stream.read(&mut chunk).await.expect("read");
                    assert!(n > 0, "the server closed the connection");
                    self.inbound.extend_from_slice(&chunk[..n]);
                }
                Err(e) => panic!("transport error: {e:?}"),
            }
        }
    }
}

fn result_body(answer: Deserialization) -> Vec<u8> {
    match answer {
        Deserialization::RpcResult(r) => r.body,
        Deserialization::RpcError(e) => panic!("expected a result, got rpc_error {:?}", e.error),
        _ => panic!("expected a result"),
    }
}

fn error_of(answer: Deserialization) -> (i32, String) {
    match answer {
        Deserialization::RpcError(e) => (e.error.error_code, e.error.error_message),
        Deserialization::RpcResult(r) => panic!("expected an rpc_error, got a result {:?}", r.body),
        _ => panic!("expected an rpc_error"),
    }
}

#[tokio::test]
async fn ping_is_answered_with_a_top_level_pong() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let mut client = RawClient::connect(&sim, ALICE, None).await;
    for ping_id in [7, 8] {
        let body = result_body(
            client
                .call(&tl::functions::Ping { ping_id }.to_bytes())
                .await,
        );
        let tl::enums::Pong::Pong(pong) = tl::enums::Pong::from_bytes(&body).unwrap();
        assert_eq!(pong.ping_id, ping_id);
    }
    let delayed = tl::functions::PingDelayDisconnect {
        ping_id: 9,
        disconnect_delay: 75,
    };
    let body = result_body(client.call(&delayed.to_bytes()).await);
    let tl::enums::Pong::Pong(pong) = tl::enums::Pong::from_bytes(&body).unwrap();
    assert_eq!(pong.ping_id, 9);
    // Service messages are not API calls and are not counted.
    assert_eq!(sim.counters.total(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn future_salts_come_top_level_with_the_number_asked_for() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let mut client = RawClient::connect(&sim, ALICE, None).await;
    let body = result_body(
        client
            .call(&tl::functions::GetFutureSalts { num: 3 }.to_bytes())
            .await,
    );
    let tl::enums::FutureSalts::Salts(salts) = tl::enums::FutureSalts::from_bytes(&body).unwrap();
    assert_eq!(salts.salts.0.len(), 3);
    assert!(
        salts
            .salts
            .0
            .windows(2)
            .all(|w| w[0].valid_until <= w[1].valid_since)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn gzip_packed_requests_are_inflated_and_counted_by_their_method() {
    let sim = Sim::start(World::demo()).await.unwrap();
    // Threshold 0: grammers packs every request that shrinks when compressed.
    let mut client = RawClient::connect(&sim, ALICE, Some(0)).await;
    let request = tl::functions::contacts::ResolveUsername {
        username: "z".repeat(400),
        referer: None,
    }
    .to_bytes();
    assert!(request.len() > 400);
    let (code, _) = error_of(client.call(&request).await);
    assert_eq!(code, 400, "the inflated request was understood and refused");
    assert_eq!(sim.counters.get(ALICE, "contacts.resolveUsername"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrapped_unknown_methods_get_an_rpc_error_and_the_session_goes_on() {
    let sim = Sim::start(World::demo()).await.unwrap();
    let mut client = RawClient::connect(&sim, ALICE, None).await;
    let wrapped = tl::functions::InvokeWithLayer {
        layer: tl::LAYER,
        query: tl::functions::InvokeWithoutUpdates {
            query: tl::functions::account::GetAuthorizations {},
        },
    };
    let (code, message) = error_of(client.call(&wrapped.to_bytes()).await);
    assert_eq!(code, 400, "{message}");
    assert_eq!(sim.counters.get(ALICE, "account.getAuthorizations"), 1);

    let destroyed = result_body(
        client
            .call(&tl::functions::DestroySession { session_id: 42 }.to_bytes())
            .await,
    );
    assert!(matches!(
        tl::enums::DestroySessionRes::from_bytes(&destroyed).unwrap(),
        tl::enums::DestroySessionRes::DestroySessionNone(_)
    ));
    let state = result_body(
        client
            .call(&tl::functions::updates::GetState {}.to_bytes())
            .await,
    );
    assert!(tl::enums::updates::State::from_bytes(&state).is_ok());
    sim.shutdown().await;
}
