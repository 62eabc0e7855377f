//! Stream buffers that keep only the byte ranges inspection needs: a fixed window at
//! an absolute offset (`Capture`) and the last bytes of the stream (`Tail`). Both cost
//! a bounded amount of memory whatever the stream length.

/// A window `[offset, offset + len)` of the stream, filled as the bytes go by. It
/// fills contiguously: bytes offered past a gap are ignored, so it stays incomplete
/// if the stream had already passed its start when it was created.
#[derive(Debug)]
pub(crate) struct Capture {
    offset: u64,
    len: usize,
    data: Vec<u8>,
}

impl Capture {
    pub(crate) fn new(offset: u64, len: usize) -> Self {
        Capture { offset, len, data: Vec::new() }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The prefix captured so far.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.data.len() == self.len
    }

    /// Offer `bytes`, which sit at absolute stream offset `at`.
    pub(crate) fn absorb(&mut self, bytes: &[u8], at: u64) {
        let Some(next) = self.offset.checked_add(self.data.len() as u64) else {
            return;
        };
        let Some(want_end) = self.offset.checked_add(self.len as u64) else {
            return;
        };
        let Some(bytes_end) = at.checked_add(bytes.len() as u64) else {
            return;
        };
        if next >= want_end || at > next || bytes_end <= next {
            return;
        }
        // Both differences are below bytes.len(), so the casts cannot truncate.
        let from = (next - at) as usize;
        let to = (bytes_end.min(want_end) - at) as usize;
        if let Some(slice) = bytes.get(from..to) {
            self.data.extend_from_slice(slice);
        }
    }
}

/// The last `N` bytes of the stream (fewer if the stream is shorter).
#[derive(Debug)]
pub(crate) struct Tail<const N: usize> {
    buf: Vec<u8>,
}

impl<const N: usize> Tail<N> {
    pub(crate) fn new() -> Self {
        Tail { buf: Vec::new() }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= N {
            self.buf.clear();
            self.buf.extend_from_slice(&chunk[chunk.len() - N..]);
            return;
        }
        self.buf.extend_from_slice(chunk);
        // Trim only once the buffer has doubled, so tiny chunks cost amortised O(1).
        if self.buf.len() > 2 * N {
            let excess = self.buf.len() - N;
            self.buf.drain(..excess);
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.buf.len().saturating_sub(N)..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_spans_chunks_and_ignores_gaps() {
        let stream: Vec<u8> = (0..=255u8).collect();
        let mut c = Capture::new(10, 20);
        for (i, chunk) in stream.chunks(7).enumerate() {
            c.absorb(chunk, (i * 7) as u64);
        }
        assert!(c.is_complete());
        assert_eq!(c.data(), &stream[10..30]);

        let mut late = Capture::new(10, 20);
        late.absorb(&stream[14..40], 14);
        assert!(late.data().is_empty());

        let mut huge = Capture::new(u64::MAX - 1, 16);
        huge.absorb(&stream, u64::MAX - 3);
        assert!(!huge.is_complete());
    }

    #[test]
    fn tail_keeps_the_last_bytes() {
        let stream: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for size in [1, 3, 16, 17, 999, 2000] {
            let mut t = Tail::<16>::new();
            for chunk in stream.chunks(size) {
                t.push(chunk);
            }
            assert_eq!(t.bytes(), &stream[stream.len() - 16..]);
        }
        let mut short = Tail::<16>::new();
        short.push(b"abc");
        assert_eq!(short.bytes(), b"abc");
    }
}
