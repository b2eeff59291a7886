//! A gzip body assembled from independently compressed pieces, and its plain text on demand.
//!
//! Each piece of the exposition (a family header, or one family's lines for a block of accounts)
//! is deflated on its own into a [`Segment`]: a raw deflate stream that starts from an empty
//! dictionary and ends on a byte boundary (a sync flush) without a final block. Segments can then
//! be concatenated in any order into one valid deflate stream (pigz does the same), closed with an
//! empty final block and wrapped in a gzip header and trailer. The trailer's CRC-32 is combined
//! from the segments' own CRCs, so assembling a body touches no text: when one account changes,
//! only its block is rendered and compressed again, and the rest is copied as compressed bytes.
//!
//! The plain text is not kept for large expositions: it is inflated from the gzip body while it
//! is sent ([`PlainBody`]), which costs CPU on plain scrapes (Prometheus asks for gzip) and saves
//! holding the text itself, about ten times the size of its compressed form.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The ten bytes every body starts with: gzip, deflate, no name, no time, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
/// An empty final block with fixed Huffman codes: ends the deflate stream.
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];
/// Size of the frames a plain body is sent in.
const FRAME: usize = 64 * 1024;

/// One piece of text, compressed on its own.
#[derive(Clone, Debug)]
pub struct Segment {
    deflated: Bytes,
    crc: u32,
    /// What appending this segment's text multiplies a CRC by (see [`crc`]).
    shift: u32,
    len: u64,
}

impl Segment {
    /// Length of the text it holds.
    pub fn text_len(&self) -> u64 {
        self.len
    }

    /// Compressed size.
    pub fn deflated_len(&self) -> usize {
        self.deflated.len()
    }

    /// The segments one after the other, as one segment: their compressed bytes copied together
    /// (a run of sync-flushed pieces is itself one), their CRCs combined.
    pub fn join<'a>(segments: impl IntoIterator<Item = &'a Segment> + Clone) -> Segment {
        let size: usize = segments.clone().into_iter().map(|s| s.deflated.len()).sum();
        let mut deflated = Vec::with_capacity(size);
        let (mut crc, mut shift, mut len) = (0u32, crc::ONE, 0u64);
        for s in segments {
            deflated.extend_from_slice(&s.deflated);
            crc = crc::combine(crc, s.crc, s.shift);
            shift = crc::product(shift, s.shift);
            len += s.len;
        }
        Segment {
            deflated: Bytes::from(deflated),
            crc,
            shift,
            len,
        }
    }
}

/// Makes segments, reusing one compressor (its tables are large: allocating them per piece would
/// cost more than compressing a small piece).
pub struct Deflater {
    compress: Compress,
}

impl Default for Deflater {
    fn default() -> Self {
        Self::new()
    }
}

impl Deflater {
    pub fn new() -> Self {
        Self {
            // Level 2 of the zlib-rs backend: as small as miniz_oxide's fastest level, several
            // times faster at these small pieces (and its reset clears far less memory); its
            // level 1 is faster still but a quarter larger.
            compress: Compress::new(Compression::new(2), false),
        }
    }

    pub fn segment(&mut self, text: &[u8]) -> Segment {
        let c = &mut self.compress;
        c.reset();
        let mut out = Vec::with_capacity(text.len() / 6 + 64);
        loop {
            let consumed = c.total_in() as usize;
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            c.compress_vec(&text[consumed..], &mut out, FlushCompress::Sync)
                .expect("deflate into memory cannot fail");
            // Done once all input is in and the flush did not run out of room.
            if c.total_in() as usize == text.len() && out.len() < out.capacity() {
                break;
            }
        }
        out.shrink_to_fit();
        Segment {
            deflated: Bytes::from(out),
            crc: crc32fast::hash(text),
            shift: crc::shift_for(text.len() as u64),
            len: text.len() as u64,
        }
    }
}

/// A gzip body: the segments in order, closed.
#[derive(Clone, Debug)]
pub struct GzipBody {
    bytes: Bytes,
    text_len: u64,
}

impl GzipBody {
    pub fn assemble<'a>(segments: impl IntoIterator<Item = &'a Segment> + Clone) -> Self {
        Self::assemble_into(Vec::new(), segments)
    }

    /// Like [`GzipBody::assemble`], in `buffer` (emptied first): a previous body's, given back by
    /// [`GzipBody::into_buffer`], so that a body's worth of fresh pages need not be mapped and
    /// faulted in on every render.
    pub fn assemble_into<'a>(
        mut buffer: Vec<u8>,
        segments: impl IntoIterator<Item = &'a Segment> + Clone,
    ) -> Self {
        let size: usize = segments.clone().into_iter().map(|s| s.deflated.len()).sum();
        buffer.clear();
        buffer.reserve(GZIP_HEADER.len() + size + FINAL_BLOCK.len() + 8);
        let mut out = buffer;
        out.extend_from_slice(&GZIP_HEADER);
        let mut crc = 0u32;
        let mut text_len = 0u64;
        for s in segments {
            out.extend_from_slice(&s.deflated);
            crc = crc::combine(crc, s.crc, s.shift);
            text_len += s.len;
        }
        out.extend_from_slice(&FINAL_BLOCK);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&(text_len as u32).to_le_bytes());
        Self {
            bytes: Bytes::from(out),
            text_len,
        }
    }

    /// The whole text compressed as one stream: better compression for small bodies.
    pub fn whole(text: &[u8]) -> Self {
        let mut d = Deflater::new();
        Self::assemble([&d.segment(text)])
    }

    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The body's memory, when nothing else holds the body any more (no response is still
    /// sending it).
    pub fn into_buffer(self) -> Option<Vec<u8>> {
        self.bytes.try_into_mut().ok().map(Vec::from)
    }

    /// Length of the text it decompresses to.
    pub fn text_len(&self) -> u64 {
        self.text_len
    }

    /// The raw deflate stream inside the gzip wrapping.
    fn deflate_stream(&self) -> Bytes {
        self.bytes.slice(GZIP_HEADER.len()..self.bytes.len() - 8)
    }

    /// The whole text, decompressed at once.
    pub fn inflate(&self) -> Bytes {
        let mut body = PlainBody::new(self);
        let mut out = Vec::with_capacity(self.text_len as usize);
        while let Some(frame) = body.next_frame() {
            out.extend_from_slice(&frame);
        }
        Bytes::from(out)
    }
}

/// The plain text of a [`GzipBody`], inflated frame by frame as the response is sent.
pub struct PlainBody {
    input: Bytes,
    inflate: Decompress,
    remaining: u64,
}

impl PlainBody {
    pub fn new(gzip: &GzipBody) -> Self {
        Self {
            input: gzip.deflate_stream(),
            inflate: Decompress::new(false),
            remaining: gzip.text_len,
        }
    }

    fn next_frame(&mut self) -> Option<Bytes> {
        if self.remaining == 0 {
            return None;
        }
        let want = (self.remaining as usize).min(FRAME);
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            let consumed = self.inflate.total_in() as usize;
            let status = self
                .inflate
                .decompress_vec(&self.input[consumed..], &mut out, FlushDecompress::None)
                // Only ever fed bytes this module compressed itself.
                .expect("inflating a body this process deflated");
            if status == Status::StreamEnd {
                break;
            }
        }
        self.remaining -= out.len() as u64;
        if out.is_empty() {
            self.remaining = 0;
            return None;
        }
        Some(Bytes::from(out))
    }
}

impl http_body::Body for PlainBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .next_frame()
                .map(|b| Ok(http_body::Frame::data(b))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

/// CRC-32 (the gzip one) of a concatenation from the CRCs of its parts, as zlib's
/// `crc32_combine_op` does it: appending `len` bytes multiplies the CRC so far by x^(8·len)
/// modulo the CRC polynomial, so each segment keeps that factor and assembling costs one
/// multiplication per segment, whatever its length.
mod crc {
    /// The gzip polynomial, bit-reversed.
    const POLY: u32 = 0xedb8_8320;

    /// a × b modulo the polynomial (bit-reversed representation).
    const fn multmodp(a: u32, mut b: u32) -> u32 {
        let mut m = 1u32 << 31;
        let mut p = 0u32;
        loop {
            if a & m != 0 {
                p ^= b;
                if a & (m - 1) == 0 {
                    break;
                }
            }
            m >>= 1;
            b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        }
        p
    }

    /// x^(2^k) modulo the polynomial, for k = 0..32.
    const X2N: [u32; 32] = {
        let mut table = [0u32; 32];
        let mut p = 1u32 << 30; // x^1
        table[0] = p;
        let mut k = 1;
        while k < 32 {
            p = multmodp(p, p);
            table[k] = p;
            k += 1;
        }
        table
    };

    /// The factor that appending `len` bytes multiplies a CRC by: x^(8·len).
    pub fn shift_for(len: u64) -> u32 {
        let (mut n, mut k, mut p) = (len, 3usize, 1u32 << 31); // 8·len = len · 2^3
        while n != 0 {
            if n & 1 != 0 {
                p = multmodp(X2N[k & 31], p);
            }
            n >>= 1;
            k += 1;
        }
        p
    }

    /// The factor of appending nothing: x^0.
    pub const ONE: u32 = 1 << 31;

    /// The factor of appending A then B, from theirs.
    pub fn product(shift_a: u32, shift_b: u32) -> u32 {
        multmodp(shift_a, shift_b)
    }

    /// CRC of A followed by B, from CRC(A), CRC(B) and B's shift factor.
    pub fn combine(crc_a: u32, crc_b: u32, shift_b: u32) -> u32 {
        multmodp(shift_b, crc_a) ^ crc_b
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .expect("a valid gzip stream");
        out
    }

    fn text(n: usize, seed: u64) -> Vec<u8> {
        (0..n)
            .map(|i| {
                format!(
                    "metric_{}{{account=\"a{}\"}} {}\n",
                    i % 7,
                    seed,
                    i as u64 * seed
                )
            })
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn a_body_given_back_is_reused_only_when_nothing_else_holds_it() {
        let mut d = Deflater::new();
        let segments: Vec<Segment> = (0..4).map(|i| d.segment(&text(300, i))).collect();
        let first = GzipBody::assemble(&segments);
        let at = first.bytes().as_ptr();
        let held = first.bytes().clone();
        assert!(
            first.clone().into_buffer().is_none(),
            "a response still holds it"
        );
        drop(held);
        let buffer = first.into_buffer().expect("nobody else holds it");
        assert_eq!(buffer.as_ptr(), at, "the same memory");
        let second = GzipBody::assemble_into(buffer, &segments[1..]);
        assert_eq!(second.bytes().as_ptr(), at);
        let want: Vec<u8> = (1..4).flat_map(|i| text(300, i)).collect();
        assert_eq!(gunzip(second.bytes()), want);
    }

    #[test]
    fn joined_segments_are_one_segment_of_their_texts() {
        let mut d = Deflater::new();
        let pieces: Vec<Vec<u8>> = vec![text(40, 1), Vec::new(), text(900, 2), text(2, 3)];
        let segments: Vec<Segment> = pieces.iter().map(|p| d.segment(p)).collect();
        let joined = Segment::join(&segments[1..]);
        let whole = d.segment(&pieces[1..].concat());
        assert_eq!(
            (joined.crc, joined.shift, joined.len),
            (whole.crc, whole.shift, whole.len)
        );
        let body = GzipBody::assemble([&segments[0], &joined, &Segment::join([])]);
        assert_eq!(gunzip(body.bytes()), pieces.concat());
        let nested = Segment::join([
            &Segment::join(&segments[..2]),
            &Segment::join(&segments[2..]),
        ]);
        assert_eq!(
            gunzip(GzipBody::assemble([&nested]).bytes()),
            pieces.concat(),
            "joins of joins"
        );
    }

    #[test]
    fn segments_concatenate_into_one_gzip_stream() {
        let mut d = Deflater::new();
        let pieces: Vec<Vec<u8>> = vec![
            text(3, 1),
            Vec::new(),
            text(5000, 2),
            b"\\\"\n".to_vec(),
            text(1, 3),
        ];
        let segments: Vec<Segment> = pieces.iter().map(|p| d.segment(p)).collect();
        let body = GzipBody::assemble(&segments);
        let want = pieces.concat();
        assert_eq!(gunzip(body.bytes()), want, "standard gzip decoder");
        assert_eq!(body.text_len(), want.len() as u64);
        assert_eq!(&body.inflate()[..], &want[..], "our own inflate");
        // A reordering is still valid: segments depend on nothing before them.
        let reordered = GzipBody::assemble([&segments[4], &segments[0], &segments[2]]);
        assert_eq!(
            gunzip(reordered.bytes()),
            [&pieces[4][..], &pieces[0], &pieces[2]].concat()
        );
    }

    #[test]
    fn crc_of_a_concatenation_from_its_parts() {
        let parts: [&[u8]; 5] = [b"", b"a", b"hello, world\n", &[0xff; 1000], &text(3000, 4)];
        let mut crc = 0;
        for p in parts {
            crc = crc::combine(crc, crc32fast::hash(p), crc::shift_for(p.len() as u64));
        }
        assert_eq!(crc, crc32fast::hash(&parts.concat()));
    }

    #[test]
    fn empty_body_and_whole_body() {
        let empty = GzipBody::assemble(std::iter::empty::<&Segment>());
        assert!(gunzip(empty.bytes()).is_empty());
        assert!(empty.inflate().is_empty());
        let t = text(20_000, 9);
        let whole = GzipBody::whole(&t);
        assert_eq!(gunzip(whole.bytes()), t);
        assert!(whole.bytes().len() < t.len() / 4, "compresses");
    }

    #[test]
    fn plain_body_streams_exact_length_in_frames() {
        let t = text(40_000, 5);
        assert!(t.len() > 3 * FRAME);
        let gz = GzipBody::whole(&t);
        let mut body = PlainBody::new(&gz);
        assert_eq!(
            http_body::Body::size_hint(&body).exact(),
            Some(t.len() as u64)
        );
        let mut got = Vec::new();
        let mut frames = 0;
        while let Some(f) = body.next_frame() {
            assert!(f.len() <= FRAME);
            got.extend_from_slice(&f);
            frames += 1;
        }
        assert!(http_body::Body::is_end_stream(&body));
        assert_eq!(got, t);
        assert!(frames >= 4);
    }
}
