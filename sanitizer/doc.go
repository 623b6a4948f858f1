// Package sanitizer redacts PII and secrets from records before any sink
// sees them.
//
// Install it on the Manager: sink.NewManager(sinks,
// sink.WithSanitizer(sanitizer.Default())). Every sink then receives the
// sanitized copy; the caller's record is never changed.
//
// What it does:
//
//   - Attributes whose key is sensitive (password, passwd, token, secret,
//     auth, authorization, credential, ssn, cookie, jwt, api key, private
//     key, credit card, …; matched case-insensitively with separators and
//     camel case ignored, at any depth) have their whole value replaced by
//     [REDACTED]. Keys that only measure something (token_count,
//     auth_latency_ms) and the ids fieldlog relies on (install_id,
//     session_id, user_id, trace_id, span_id, breadcrumb_category) are kept.
//   - Free text — the message, the error, the stack trace and every string
//     attribute value, also inside JSON held in a string — is searched by
//     rules, each replacing what it finds with a typed marker: private_key
//     [PRIVATE_KEY], jwt [JWT], bearer [TOKEN], url_userinfo (the password
//     of user:pass@host), cloud_key [CLOUD_KEY], kv_secret (password=…,
//     "token": "…"), email [EMAIL], ssn [SSN], credit_card [CARD]
//     (Luhn-valid), ipv6 and ipv4 [IP], phone [PHONE], home_path (home
//     directories in paths become ~).
//   - A marker never repeats what it replaced; with Options.HashKey it
//     carries a keyed hash instead, so the same value correlates across
//     records. The record gets a fieldlog.scrubbed attribute listing the
//     paths and rule names that fired, never values.
//   - A rule that panics costs only the field it ran on, which becomes
//     [SANITIZER_ERROR]; the failure goes to Options.OnError.
//
// Sanitizing is idempotent, and a clean record costs little: cheap scans
// decide which rules can fire before any regular expression runs.
package sanitizer
