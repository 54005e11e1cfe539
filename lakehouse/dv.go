package lakehouse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"

	"github.com/quiver-data/quiver/storage"
)

// Deletion vectors (Iceberg v3). A deletion vector is a blob of a Puffin
// file, located by the delete file's content_offset and
// content_size_in_bytes, that names the deleted positions of one data file
// (referenced_data_file) as a 64-bit Roaring bitmap. The coordinator reads
// it while planning the snapshot and hands the positions to the planner as
// runs; the plan cache keeps them with the snapshot's files.

// dvMagic starts a deletion-vector-v1 blob, after its length.
var dvMagic = []byte{0xD1, 0xD3, 0x39, 0x64}

// maxDeletionVectorRuns bounds the runs of deleted positions a snapshot's
// deletion vectors may hold: they travel in the fragments' SQL, about 15
// bytes a run. A table past it is refused (Unimplemented), never misread.
const maxDeletionVectorRuns = 1 << 20

// maxDeletionVectorBytes bounds one blob read into memory.
const maxDeletionVectorBytes = 256 << 20

// deletionVector reads deletion vector d of data file path: its deleted
// positions as sorted, disjoint [Start, End) runs.
func deletionVector(fio iceio.IO, name storage.TableName, d iceberg.DataFile, path string) (storage.DeleteFile, error) {
	out := storage.DeleteFile{Kind: storage.DeletionVector, Path: d.FilePath(), Rows: d.Count()}
	if ref := d.ReferencedDataFile(); ref == nil || *ref != path {
		return out, fmt.Errorf("table %s: deletion vector %s does not reference data file %s", name, d.FilePath(), path)
	}
	if f := d.FileFormat(); f != iceberg.PuffinFile {
		return out, fmt.Errorf("table %s: deletion vector %s is %s, not Puffin: %w", name, d.FilePath(), f, ErrUnsupported)
	}
	if len(d.KeyMetadata()) > 0 {
		return out, fmt.Errorf("table %s: deletion vector %s is encrypted: %w", name, d.FilePath(), ErrUnsupported)
	}
	offset, size := d.ContentOffset(), d.ContentSizeInBytes()
	if offset == nil || size == nil || *offset < 0 || *size < 12 || *size > maxDeletionVectorBytes {
		return out, fmt.Errorf("table %s: deletion vector %s has no valid content offset and size", name, d.FilePath())
	}
	f, err := fio.Open(d.FilePath())
	if err != nil {
		return out, fmt.Errorf("table %s: open deletion vector %s: %w", name, d.FilePath(), classify(err))
	}
	defer func() { _ = f.Close() }()
	blob := make([]byte, *size)
	if _, err := f.ReadAt(blob, *offset); err != nil && err != io.EOF {
		return out, fmt.Errorf("table %s: read deletion vector %s: %w", name, d.FilePath(), classify(err))
	}
	bm, err := decodeDeletionVector(blob)
	if err != nil {
		return out, fmt.Errorf("table %s: deletion vector %s: %w", name, d.FilePath(), err)
	}
	if got := int64(bm.GetCardinality()); got != d.Count() {
		return out, fmt.Errorf("table %s: deletion vector %s holds %d positions, its manifest entry says %d", name, d.FilePath(), got, d.Count())
	}
	out.Positions = runs(bm)
	return out, nil
}

// decodeDeletionVector reads a deletion-vector-v1 blob: a big-endian
// length of what follows up to the checksum, the magic, a 64-bit Roaring
// bitmap in the portable format, and a big-endian CRC-32 of magic and
// bitmap.
func decodeDeletionVector(blob []byte) (*roaring64.Bitmap, error) {
	if len(blob) < 12 {
		return nil, fmt.Errorf("blob of %d bytes is too short", len(blob))
	}
	n := binary.BigEndian.Uint32(blob[:4])
	if int64(n) != int64(len(blob))-8 {
		return nil, fmt.Errorf("blob says %d bytes of bitmap, has %d", n, len(blob)-8)
	}
	body := blob[4 : 4+n]
	if !bytes.Equal(body[:4], dvMagic) {
		return nil, fmt.Errorf("not a deletion-vector-v1 blob (magic %x)", body[:4])
	}
	if want, got := binary.BigEndian.Uint32(blob[4+n:]), crc32.ChecksumIEEE(body); want != got {
		return nil, fmt.Errorf("checksum %08x, blob says %08x", got, want)
	}
	bm := roaring64.New()
	r := bytes.NewReader(body[4:])
	if _, err := bm.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("read the bitmap: %w", err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the bitmap", r.Len())
	}
	return bm, nil
}

// runs turns a bitmap into sorted, disjoint [Start, End) runs.
func runs(bm *roaring64.Bitmap) []storage.Slice {
	var out []storage.Slice
	it := bm.Iterator()
	for it.HasNext() {
		v := int64(it.Next())
		if k := len(out) - 1; k >= 0 && out[k].End == v {
			out[k].End++
			continue
		}
		out = append(out, storage.Slice{Start: v, End: v + 1})
	}
	return out
}
