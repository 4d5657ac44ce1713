//! The Full TCP transport: `len:i32 LE | seq:i32 LE | payload | crc32:u32 LE`.
//!
//! `len` counts the whole frame (12 bytes of overhead plus the payload), `seq` counts frames per
//! direction from 0, and the CRC-32 (IEEE) covers everything before it. grammers 0.11 and Telethon
//! both default to this transport. Reading validates all three fields before anything is decrypted,
//! so a peer that sends garbage is told exactly what was wrong and loses only its own connection.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Frame overhead: length, sequence number, checksum.
const OVERHEAD: usize = 12;

/// The largest frame a client may send. Uploads are 512 KiB parts; anything bigger is abuse.
pub const MAX_INBOUND_FRAME: usize = 2 * 1024 * 1024;

/// Why an inbound frame was refused.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed by the peer")]
    Closed,
    #[error("i/o error reading a frame: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "frame length {0} is invalid: expected a multiple of 4 between 12 and {MAX_INBOUND_FRAME}"
    )]
    BadLength(i32),
    #[error("frame sequence number {got} is out of order: expected {expected}")]
    BadSeq { expected: i32, got: i32 },
    #[error("frame checksum is {got:#010x} but its contents hash to {expected:#010x}")]
    BadCrc { expected: u32, got: u32 },
}

/// Reads frames of one connection, checking length, order and checksum.
pub struct FrameReader<R> {
    inner: R,
    seq: i32,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader { inner, seq: 0 }
    }

    /// The next frame's payload. A clean EOF before a frame starts is [`FrameError::Closed`].
    pub async fn read_frame(&mut self) -> Result<Vec<u8>, FrameError> {
        let mut len_bytes = [0u8; 4];
        match self.inner.read_exact(&mut len_bytes).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(FrameError::Closed);
            }
            Err(e) => return Err(e.into()),
        }
        let len = i32::from_le_bytes(len_bytes);
        let total = usize::try_from(len).map_err(|_| FrameError::BadLength(len))?;
        if !(OVERHEAD..=MAX_INBOUND_FRAME).contains(&total) || total % 4 != 0 {
            return Err(FrameError::BadLength(len));
        }
        let mut frame = vec![0u8; total];
        frame[..4].copy_from_slice(&len_bytes);
        self.inner.read_exact(&mut frame[4..]).await?;

        let seq = i32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
        if seq != self.seq {
            return Err(FrameError::BadSeq {
                expected: self.seq,
                got: seq,
            });
        }
        let crc_at = total - 4;
        let got = u32::from_le_bytes([
            frame[crc_at],
            frame[crc_at + 1],
            frame[crc_at + 2],
            frame[crc_at + 3],
        ]);
        let expected = crc32fast::hash(&frame[..crc_at]);
        if got != expected {
            return Err(FrameError::BadCrc { expected, got });
        }
        self.seq = self.seq.wrapping_add(1);
        frame.truncate(crc_at);
        frame.drain(..8);
        Ok(frame)
    }
}

/// Writes frames of one connection, numbering them.
pub struct FrameWriter<W> {
    inner: W,
    seq: i32,
}

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    pub fn new(inner: W) -> Self {
        FrameWriter { inner, seq: 0 }
    }

    /// Frames and writes one payload (whose length must be a multiple of 4, as MTProto's are).
    pub async fn write_frame(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let frame = encode_frame(self.seq, payload);
        self.seq = self.seq.wrapping_add(1);
        self.inner.write_all(&frame).await?;
        self.inner.flush().await
    }

    /// Sends a transport error code, which Telegram sends as a bare negative 4-byte "length" (for
    /// example -404 for an unknown auth key), before it closes the connection.
    pub async fn write_transport_error(&mut self, code: i32) -> std::io::Result<()> {
        self.inner.write_all(&(-code).to_le_bytes()).await?;
        self.inner.flush().await
    }

    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        self.inner.shutdown().await
    }
}

/// One complete frame with sequence number `seq` around `payload`.
pub fn encode_frame(seq: i32, payload: &[u8]) -> Vec<u8> {
    let total = payload.len() + OVERHEAD;
    let mut frame = Vec::with_capacity(total);
    frame.extend_from_slice(&(total as i32).to_le_bytes());
    frame.extend_from_slice(&seq.to_le_bytes());
    frame.extend_from_slice(payload);
    let crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(bytes: Vec<u8>) -> (Vec<Vec<u8>>, FrameError) {
        let mut reader = FrameReader::new(&bytes[..]);
        let mut frames = Vec::new();
        loop {
            match reader.read_frame().await {
                Ok(frame) => frames.push(frame),
                Err(e) => return (frames, e),
            }
        }
    }

    #[tokio::test]
    async fn frames_round_trip_in_order() {
        let mut bytes = encode_frame(0, b"abcd");
        bytes.extend(encode_frame(1, b"efghijkl"));
        let (frames, end) = read_all(bytes).await;
        assert_eq!(frames, vec![b"abcd".to_vec(), b"efghijkl".to_vec()]);
        assert!(matches!(end, FrameError::Closed));
    }

    #[tokio::test]
    async fn a_bad_checksum_is_refused() {
        let mut bytes = encode_frame(0, b"abcd");
        bytes[9] ^= 0xff;
        let (frames, end) = read_all(bytes).await;
        assert!(frames.is_empty());
        assert!(matches!(end, FrameError::BadCrc { .. }), "{end}");
    }

    #[tokio::test]
    async fn an_out_of_order_frame_is_refused() {
        let (_, end) = read_all(encode_frame(3, b"abcd")).await;
        assert!(
            matches!(
                end,
                FrameError::BadSeq {
                    expected: 0,
                    got: 3
                }
            ),
            "{end}"
        );
    }

    #[tokio::test]
    async fn absurd_lengths_are_refused_before_allocating() {
        for len in [-404i32, 0, 8, 13, i32::MAX] {
            let mut bytes = len.to_le_bytes().to_vec();
            bytes.extend([0u8; 16]);
            let (_, end) = read_all(bytes).await;
            assert!(matches!(end, FrameError::BadLength(l) if l == len), "{end}");
        }
    }

    #[tokio::test]
    async fn a_truncated_frame_is_an_io_error_not_a_frame() {
        let mut bytes = encode_frame(0, b"abcdefgh");
        bytes.truncate(bytes.len() - 3);
        let (frames, end) = read_all(bytes).await;
        assert!(frames.is_empty());
        assert!(matches!(end, FrameError::Io(_)), "{end}");
    }

    #[tokio::test]
    async fn the_grammers_transport_reads_our_frames() {
        use grammers_mtproto::transport::{Full, Transport};
        let payload: Vec<u8> = (0..32u8).collect();
        let mut bytes = encode_frame(0, &payload);
        let unpacked = Full::new().unpack(&mut bytes).unwrap();
        assert_eq!(&bytes[unpacked.data_range], &payload[..]);
    }
}
