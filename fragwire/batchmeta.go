package fragwire

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	flatbuffers "github.com/google/flatbuffers/go"
)

// BatchMeta is the app_metadata a worker attaches to every record batch it
// streams: how many rows of the fragment came before the batch and how many
// it holds. The coordinator counts relayed rows from it without decoding, and
// after a worker fails it knows which rows of a re-run to skip.
type BatchMeta struct {
	Offset int64
	Rows   int64
}

// batchMetaLen is the encoded size: two little-endian int64.
const batchMetaLen = 16

// heartbeatTag is the app_metadata of a message that carries nothing but
// proof that the worker is alive (sent while DuckDB computes, so a long
// aggregate is not mistaken for a stalled worker).
const heartbeatTag = "quiver:hb"

// Encode returns the 16-byte app_metadata form of m.
func (m BatchMeta) Encode() []byte {
	b := make([]byte, batchMetaLen)
	binary.LittleEndian.PutUint64(b[0:8], uint64(m.Offset))
	binary.LittleEndian.PutUint64(b[8:16], uint64(m.Rows))
	return b
}

// DecodeBatchMeta reads a batch's app_metadata; ok is false when the
// message carries none (a worker of another version, or not a batch).
func DecodeBatchMeta(b []byte) (m BatchMeta, ok bool) {
	if len(b) != batchMetaLen {
		return BatchMeta{}, false
	}
	m.Offset = int64(binary.LittleEndian.Uint64(b[0:8]))
	m.Rows = int64(binary.LittleEndian.Uint64(b[8:16]))
	return m, m.Offset >= 0 && m.Rows >= 0
}

// IsHeartbeat reports whether fd is a worker heartbeat, which is never
// relayed.
func IsHeartbeat(fd *flight.FlightData) bool {
	return len(fd.DataHeader) == 0 && len(fd.DataBody) == 0 && string(fd.AppMetadata) == heartbeatTag
}

// Heartbeat returns a new heartbeat message, the one IsHeartbeat
// recognizes.
func Heartbeat() *flight.FlightData { return &flight.FlightData{AppMetadata: []byte(heartbeatTag)} }

// MessageType returns the IPC message type of a Flight message (schema,
// dictionary batch or record batch) by reading its header, without decoding
// the body.
func MessageType(fd *flight.FlightData) (t ipc.MessageType, err error) {
	if len(fd.DataHeader) == 0 {
		return ipc.MessageNone, nil
	}
	defer func() {
		// A malformed flatbuffer makes the accessors index out of range.
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed flight message header: %v", r)
		}
	}()
	msg := ipc.NewMessage(memory.NewBufferBytes(fd.DataHeader), memory.NewBufferBytes(nil))
	defer msg.Release()
	return msg.Type(), nil
}

// Arrow IPC flatbuffer layout (format/Message.fbs): the Message table's
// header_type and header fields, the MessageHeader union's RecordBatch
// member, and the RecordBatch table's length field.
const (
	fbMessageHeaderType = 6
	fbMessageHeader     = 8
	fbHeaderRecordBatch = 3
	fbRecordBatchLength = 4
)

// BatchRows is the row count of a record batch message, read from its
// header without decoding the body; ok is false for any other message.
func BatchRows(fd *flight.FlightData) (rows int64, ok bool, err error) {
	if len(fd.DataHeader) < 4 {
		return 0, false, nil
	}
	defer func() {
		if r := recover(); r != nil {
			rows, ok, err = 0, false, fmt.Errorf("malformed flight message header: %v", r)
		}
	}()
	msg := &flatbuffers.Table{Bytes: fd.DataHeader, Pos: flatbuffers.GetUOffsetT(fd.DataHeader)}
	o := flatbuffers.UOffsetT(msg.Offset(fbMessageHeaderType))
	if o == 0 || msg.GetByte(o+msg.Pos) != fbHeaderRecordBatch {
		return 0, false, nil
	}
	o = flatbuffers.UOffsetT(msg.Offset(fbMessageHeader))
	if o == 0 {
		return 0, false, fmt.Errorf("malformed flight message header: a record batch without its header")
	}
	var rb flatbuffers.Table
	msg.Union(&rb, o)
	if o = flatbuffers.UOffsetT(rb.Offset(fbRecordBatchLength)); o == 0 {
		return 0, true, nil // the default: no rows
	}
	return rb.GetInt64(o + rb.Pos), true, nil
}
