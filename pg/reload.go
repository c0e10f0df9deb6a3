package pg

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sshplay/sshplay/transport"
)

// validateSQL reads what a reload would find on disk: pg_file_settings
// (errors and the ssl value the files set) and pg_hba_file_rules errors,
// in one query.
const validateSQL = `SELECT json_build_object(
 'file_settings', (SELECT coalesce(json_agg(json_build_object('sourcefile', coalesce(sourcefile, ''),
     'sourceline', coalesce(sourceline, 0), 'seqno', coalesce(seqno, 0), 'name', coalesce(name, ''),
     'setting', coalesce(setting, ''), 'applied', applied, 'error', coalesce(error, '')) ORDER BY seqno), '[]'::json)
   FROM pg_file_settings WHERE name LIKE 'ssl%' OR error IS NOT NULL),
 'hba_errors', (SELECT coalesce(json_agg(json_build_object('file_name', current_setting('hba_file'),
     'line_number', coalesce(line_number, 0), 'error', error) ORDER BY line_number), '[]'::json)
   FROM pg_hba_file_rules WHERE error IS NOT NULL));
`

// settingsSQL reads the running ssl settings.
const settingsSQL = `SELECT coalesce(json_agg(json_build_object('name', name, 'setting', setting, 'context', context,
     'source', source, 'sourcefile', coalesce(sourcefile, ''), 'sourceline', coalesce(sourceline, 0),
     'pending_restart', pending_restart) ORDER BY name), '[]'::json)
   FROM pg_settings WHERE name LIKE 'ssl%';
`

// DiskState is what the configuration files on disk say now.
type DiskState struct {
	FileSettings []FileSetting `json:"file_settings"`
	HBAErrors    []HBAError    `json:"hba_errors"`
}

// ReadDiskState runs the validation query (one round trip).
func ReadDiskState(ctx context.Context, c transport.Conn, t Target) (*DiskState, error) {
	out, err := Query(ctx, c, t, validateSQL)
	if err != nil {
		return nil, err
	}
	var d DiskState
	if err := json.Unmarshal(out, &d); err != nil {
		return nil, fmt.Errorf("host %s: parse validation query: %w (output %q)", c.Host(), err, truncate(string(out), 200))
	}
	return &d, nil
}

// ReadSettings reads the running ssl settings (one round trip).
func ReadSettings(ctx context.Context, c transport.Conn, t Target) ([]Setting, error) {
	return querySettings(ctx, c, t, settingsSQL)
}

// Reload signals the postmaster to reload, waits settle (e.g. "0.02"
// seconds) in the same session and reads the running ssl settings: one
// round trip. The backend applies the reload between statements, so the
// settings are the new ones once the postmaster has re-read the files
// (which may take longer: poll ReadSettings then).
func Reload(ctx context.Context, c transport.Conn, t Target, settle string) ([]Setting, error) {
	return querySettings(ctx, c, t, "SELECT pg_reload_conf();\nSELECT pg_sleep("+QuoteLiteral(settle)+"::float8);\n"+settingsSQL)
}

func querySettings(ctx context.Context, c transport.Conn, t Target, sql string) ([]Setting, error) {
	out, err := Query(ctx, c, t, sql)
	if err != nil {
		return nil, err
	}
	// The JSON array comes last (earlier statements print t or nothing;
	// json_agg may break lines).
	last := strings.TrimSpace(string(out))
	if !strings.HasPrefix(last, "[") {
		if i := strings.Index(last, "\n["); i >= 0 {
			last = last[i+1:]
		}
	}
	var s []Setting
	if err := json.Unmarshal([]byte(last), &s); err != nil {
		return nil, fmt.Errorf("host %s: parse pg_settings: %w (output %q)", c.Host(), err, truncate(string(out), 200))
	}
	return s, nil
}
