package flightwire

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	flatbuffers "github.com/google/flatbuffers/go"
)

// Compression is the body compression of the Arrow IPC record batches a
// result is sent with (the IPC format's BodyCompression: each buffer of a
// batch compressed on its own). Every Arrow reader since 1.0 decompresses
// it on its own: pyarrow, arrow-go, ADBC. The Flight SQL JDBC driver
// (arrow-java 18) does not ship the codec.
type Compression string

// Compressions.
const (
	// Uncompressed sends buffers as they are, what loopback wants: there
	// compressing only costs CPU on both ends.
	Uncompressed Compression = ""
	// Zstd compresses with Zstandard at its default level.
	Zstd Compression = "zstd"
	// LZ4 compresses with LZ4 frames: faster, larger than Zstd.
	LZ4 Compression = "lz4"
)

// ParseCompression reads a compression name: off (or none), zstd or lz4,
// in any case.
func ParseCompression(name string) (Compression, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "off", "none":
		return Uncompressed, nil
	case "zstd":
		return Zstd, nil
	case "lz4", "lz4_frame":
		return LZ4, nil
	}
	return Uncompressed, fmt.Errorf("IPC compression %q: want off, zstd or lz4", name)
}

// String is the name ParseCompression reads back ("off" when uncompressed).
func (c Compression) String() string {
	if c == Uncompressed {
		return "off"
	}
	return string(c)
}

// WriterOptions are the ipc.Writer options that compress with c; none for
// Uncompressed.
func (c Compression) WriterOptions() []ipc.Option {
	switch c {
	case Zstd:
		return []ipc.Option{ipc.WithZstd()}
	case LZ4:
		return []ipc.Option{ipc.WithLZ4()}
	}
	return nil
}

// BatchCompression is the compression a record batch message's header
// (FlightData.data_header, an IPC Message flatbuffer) declares; ok is
// false for other messages. arrow-go keeps its flatbuffer accessors
// internal, so the few fields are read by their slots in Message.fbs.
func BatchCompression(header []byte) (c Compression, ok bool, err error) {
	defer func() {
		// A malformed flatbuffer makes the accessors index out of range.
		if r := recover(); r != nil {
			c, ok, err = Uncompressed, false, fmt.Errorf("%w: IPC message header: %v", ErrMalformed, r)
		}
	}()
	if len(header) < 8 {
		return Uncompressed, false, fmt.Errorf("%w: IPC message header of %d bytes", ErrMalformed, len(header))
	}
	// Slot offsets: 4 + 2 × the field's index in its table.
	const (
		messageHeaderType = 6  // Message.header_type
		messageHeader     = 8  // Message.header
		batchCompression  = 10 // RecordBatch.compression
		compressionCodec  = 4  // BodyCompression.codec
		headerRecordBatch = 3  // MessageHeader.RecordBatch
		codecLZ4Frame     = 0  // CompressionType.LZ4_FRAME
		codecZstd         = 1  // CompressionType.ZSTD
	)
	msg := flatbuffers.Table{Bytes: header, Pos: flatbuffers.GetUOffsetT(header)}
	o := flatbuffers.UOffsetT(msg.Offset(messageHeaderType))
	if o == 0 || msg.GetByte(msg.Pos+o) != headerRecordBatch {
		return Uncompressed, false, nil
	}
	var batch flatbuffers.Table
	if o = flatbuffers.UOffsetT(msg.Offset(messageHeader)); o == 0 {
		return Uncompressed, false, fmt.Errorf("%w: record batch message without a header", ErrMalformed)
	}
	msg.Union(&batch, o)
	o = flatbuffers.UOffsetT(batch.Offset(batchCompression))
	if o == 0 {
		return Uncompressed, true, nil
	}
	bc := flatbuffers.Table{Bytes: header, Pos: batch.Indirect(batch.Pos + o)}
	codec := int8(codecLZ4Frame)
	if o = flatbuffers.UOffsetT(bc.Offset(compressionCodec)); o != 0 {
		codec = bc.GetInt8(bc.Pos + o)
	}
	switch codec {
	case codecZstd:
		return Zstd, true, nil
	case codecLZ4Frame:
		return LZ4, true, nil
	}
	return Uncompressed, true, fmt.Errorf("%w: unknown body compression codec %d", ErrMalformed, codec)
}
