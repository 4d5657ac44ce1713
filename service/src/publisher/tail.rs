//! [`Tail`]: a consumer of the live stream on a temporary queue, for the `tail` command,
//! for tests and for the benchmark.
//!
//! The queue is server-named, exclusive and auto-deleted: it exists while the consumer is
//! connected and never accumulates messages nobody reads. It is bound to the exchange with
//! `message.*.<chat_id>` for one chat or `message.#` for all, and consumes without acks,
//! since nothing is lost if a look at the stream misses a message.

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, Consumer};

use super::error::PublisherError;
use super::link::declare_exchange;

/// One message read from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailEvent {
    pub routing_key: String,
    /// The event id (see [`crate::publisher::EventKey::id`]).
    pub message_id: Option<String>,
    pub content_type: Option<String>,
    /// 2 for persistent.
    pub delivery_mode: Option<u8>,
    pub body: Vec<u8>,
}

/// A connected consumer.
pub struct Tail {
    connection: Connection,
    channel: Channel,
    consumer: Consumer,
}

impl Tail {
    /// Connects and binds a temporary queue to `exchange` for `chat` (a marked chat id) or
    /// for every chat. Messages published from now on are received.
    pub async fn connect(
        url: &str,
        exchange: &str,
        chat: Option<i64>,
    ) -> Result<Tail, lapin::Error> {
        Tail::connect_with_key(url, exchange, &binding_key(chat)).await
    }

    /// [`Tail::connect`] with an explicit topic binding key.
    pub async fn connect_with_key(
        url: &str,
        exchange: &str,
        binding_key: &str,
    ) -> Result<Tail, lapin::Error> {
        let connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        declare_exchange(&channel, exchange).await?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.name().clone(),
                exchange.into(),
                binding_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consumer = channel
            .basic_consume(
                queue.name().clone(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok(Tail {
            connection,
            channel,
            consumer,
        })
    }

    /// The next message; `None` once the consumer is cancelled or the link is gone.
    pub async fn next(&mut self) -> Option<Result<TailEvent, lapin::Error>> {
        let delivery = match self.consumer.next().await? {
            Ok(delivery) => delivery,
            Err(error) => return Some(Err(error)),
        };
        let properties = &delivery.properties;
        Some(Ok(TailEvent {
            routing_key: delivery.routing_key.to_string(),
            message_id: properties.message_id().as_ref().map(|id| id.to_string()),
            content_type: properties.content_type().as_ref().map(|t| t.to_string()),
            delivery_mode: *properties.delivery_mode(),
            body: delivery.data,
        }))
    }

    /// Closes the channel and the connection.
    pub async fn close(self) {
        let _ = self.channel.close(200, "tail done".into()).await;
        let _ = self.connection.close(200, "tail done".into()).await;
    }
}

/// `message.*.<chat>` for one chat, `message.#` for all.
pub fn binding_key(chat: Option<i64>) -> String {
    match chat {
        Some(chat) => format!("message.*.{chat}"),
        None => "message.#".to_owned(),
    }
}

/// Reads the `--chat` argument: a marked chat id, as in the messages' `chat.id`.
pub fn parse_chat(text: &str) -> Result<i64, PublisherError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id != 0)
        .ok_or_else(|| PublisherError::BadChat {
            given: text.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_binds_every_kind_of_its_events() {
        assert_eq!(
            binding_key(Some(-1_000_000_100_001)),
            "message.*.-1000000100001"
        );
        assert_eq!(binding_key(None), "message.#");
    }

    #[test]
    fn the_chat_argument_is_a_nonzero_number() {
        assert_eq!(parse_chat(" -1000000100001 ").unwrap(), -1_000_000_100_001);
        for bad in ["", "@news", "0", "12x"] {
            let error = parse_chat(bad).unwrap_err().to_string();
            assert!(error.contains("numeric chat id"), "{bad:?}: {error}");
        }
    }
}
