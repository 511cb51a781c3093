//! DATA and BDAT (RFC 3030): the message is read through the core's `DataReader`, with our
//! `Received:` header in front, and handed to `deliver` at its end.
use super::{Chunks, Flow, Session};
use crate::core::data::{DataReader, Feed};
use crate::core::reply::Reply;
use crate::core::rules::replies;

impl Session {
    /// DATA, once its order was checked.
    pub(super) async fn data(&mut self) -> Flow {
        let (trace_id, mut reader) = self.start_message(false);
        self.conn.queue(&replies::start_data());
        loop {
            let buffered = self.conn.buffered();
            if !buffered.is_empty() {
                let n = buffered.len();
                match reader.feed(buffered) {
                    Feed::Done(used) => {
                        self.conn.consume(used);
                        break;
                    }
                    Feed::NeedMore => self.conn.consume(n),
                }
            }
            if !self.fill_message_input().await {
                return Flow::Close;
            }
        }
        self.deliver(reader.finish(), trace_id).await
    }

    /// A new message: its trace id and a reader with our `Received:` header in front.
    fn start_message(&mut self, chunked: bool) -> (String, DataReader) {
        // The event log's session and transaction, so log, server log and message join.
        let trace_id = format!("{}.{}", self.events.tag, self.events.transaction);
        let header = self.trace_header(&trace_id);
        self.handle.set_state("data");
        let (barelf, max, line) = (self.barelf(), self.config.maxdata, self.config.maxdataline);
        let mut reader = if chunked {
            DataReader::chunked(barelf, max, line)
        } else {
            DataReader::new(barelf, max, line)
        };
        reader.prefix(header.as_bytes());
        (trace_id, reader)
    }

    /// BDAT, once its order was checked: exactly `size` bytes follow the command.
    pub(super) async fn bdat(&mut self, size: u64, last: bool) -> Flow {
        if self.chunks.is_none() {
            let (trace_id, reader) = self.start_message(true);
            self.chunks = Some(Chunks { reader, trace_id });
        }
        if !self.read_chunk(size).await {
            return Flow::Close;
        }
        if !last {
            return self.reply(replies::chunk_received(size));
        }
        let Some(chunks) = self.chunks.take() else {
            return self.error_reply(replies::need_mail());
        };
        self.deliver(chunks.reader.finish(), chunks.trace_id).await
    }

    /// A BDAT out of order: its chunk is read and dropped, then refused.
    pub(super) async fn refuse_chunk(&mut self, size: u64, reply: Reply) -> Flow {
        if !self.read_chunk(size).await {
            return Flow::Close;
        }
        self.error_reply(reply)
    }

    /// Reads `size` bytes into the message being chunked (or nowhere, when there is none);
    /// false when the session must end.
    async fn read_chunk(&mut self, size: u64) -> bool {
        self.handle.set_state("bdat");
        let mut remaining = size;
        while remaining > 0 {
            let buffered = self.conn.buffered();
            let take = buffered
                .len()
                .min(remaining.min(usize::MAX as u64) as usize);
            if take > 0 {
                if let Some(chunks) = self.chunks.as_mut() {
                    chunks.reader.feed(&buffered[..take]);
                }
                self.conn.consume(take);
                remaining -= take as u64;
                continue;
            }
            if !self.fill_message_input().await {
                return false;
            }
        }
        true
    }
}
