//! The test broker: the RabbitMQ `./test.sh` makes sure of on 127.0.0.1:5672, and an
//! exchange of each test's own, so tests running at once never see each other's messages.

use std::net::SocketAddr;

/// The broker the tests use (`TGC_TEST_AMQP_URL` overrides).
pub fn amqp_url() -> String {
    std::env::var("TGC_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// The test broker's address (from [`amqp_url`]), for a proxy before it.
pub fn broker_addr() -> SocketAddr {
    let url = amqp_url();
    let host_port = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5672");
    host_port
        .parse()
        .expect("the test broker URL names host:port")
}

/// An exchange name no other test uses: the test's name, the process and a nonce.
pub fn exchange(test: &str) -> String {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("tgc.test.{test}.{}.{nonce}", std::process::id())
}

/// Deletes an exchange of the test broker, and the queue named after it if a test declared
/// one (best effort: a leftover is harmless).
pub async fn delete_exchange(exchange: &str) {
    use tgc_service::publisher::lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    use tgc_service::publisher::lapin::{Connection, ConnectionProperties};
    let Ok(connection) = Connection::connect(&amqp_url(), ConnectionProperties::default()).await
    else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        let _ = channel
            .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
            .await;
        // A test's own catch-all queue, when it declared one, is named after its exchange.
        let _ = channel
            .queue_delete(exchange.into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = connection.close(200, "test done".into()).await;
}

/// Takes `count` messages from `queue` of the test broker (waiting for them under the hang
/// guard), acknowledged, as `(message_id, body)` in queue order.
pub async fn take_from_queue(queue: &str, count: usize) -> Vec<(String, Vec<u8>)> {
    use tgc_service::publisher::lapin::options::{BasicAckOptions, BasicGetOptions};
    use tgc_service::publisher::lapin::{Connection, ConnectionProperties};
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ on 127.0.0.1:5672 (run ./test.sh to start it)");
    let channel = connection.create_channel().await.expect("a channel");
    let mut taken = Vec::with_capacity(count);
    crate::guarded(&format!("{count} messages in queue {queue}"), async {
        while taken.len() < count {
            match channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .expect("basic.get")
            {
                Some(message) => {
                    let delivery = message.delivery;
                    let id = delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|id| id.to_string())
                        .unwrap_or_default();
                    delivery.ack(BasicAckOptions::default()).await.expect("ack");
                    taken.push((id, delivery.data));
                }
                None => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    let _ = connection.close(200, "test done".into()).await;
    taken
}
