package flightserver

import (
	"context"
	"log/slog"

	"google.golang.org/grpc/status"

	"github.com/quiver-data/quiver/planner"
)

// maxAuditSQL bounds the statement text an audit record carries.
const maxAuditSQL = 4096

// audit records one planning decision: who asked, what they asked, which
// tables it touched and whether it was allowed. Every statement goes
// through here, allowed or refused (sandbox, unknown table, bad SQL), so
// the audit log answers "who read what" and "who tried what".
func (s *Server) audit(ctx context.Context, action, sql string, plan *planner.Plan, err error) {
	decision, code := "allowed", "OK"
	if err != nil {
		decision, code = "refused", status.Code(toStatus(err)).String()
		if code != "PermissionDenied" && code != "Unauthenticated" {
			decision = "failed"
		}
	}
	var tables []string
	if plan != nil {
		for _, t := range plan.Tables {
			tables = append(tables, t.Name.String())
		}
	}
	if len(sql) > maxAuditSQL {
		sql = sql[:maxAuditSQL] + "…"
	}
	s.audits.WithLabelValues(decision).Inc()
	attrs := []any{"action", action, "principal", s.opts.Access.Principal(ctx), "decision", decision, "code", code,
		"tables", tables, "sql", sql}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	s.auditLog.Info("audit", attrs...)
}

// auditLogger is where audit records go: the configured audit logger, or
// the server's logger.
func auditLogger(opts Options, logger *slog.Logger) *slog.Logger {
	if opts.AuditLogger != nil {
		return opts.AuditLogger
	}
	return logger
}
