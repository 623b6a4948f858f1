// Package sanitizer redacts PII and secrets from records before any sink
// sees them.
//
// Install it on the Manager:
//
//	m := sink.NewManager(sinks, sink.WithSanitizer(sanitizer.Default()))
//
// Every sink — console, memory, disk queue, network — then receives the
// sanitized copy of each record. The caller's record, its attribute
// slices, groups, maps and lists are never changed: what changes is
// rebuilt. The package depends on logrecord only; *Sanitizer satisfies
// sink.Sanitizer.
//
// # Sensitive keys
//
// An attribute whose key is sensitive has its whole value, whatever its
// type, replaced by [Redacted], at any depth: slog groups (a struct
// logged as a group of its fields loses its Password field), maps, lists
// of maps. Keys are split into words at separators and camel case and
// compared in lower case, so api_key, apiKey, API-KEY, x-api-key,
// maps.api.key, accessToken, SecretAccessKey and PGPASSWORD all match.
// The default words are password, passwd, pwd, pass, passphrase,
// passcode, secret, token, auth, authorization, credential(s), creds,
// ssn, cookie, jwt, api key, access key, private key, account key,
// credit card, card number, cvv, cvc, pin, otp, signature, sig and
// bearer, and words ending in password, token, secret or credential
// (dbPassword); Options.SensitiveKeys adds more.
//
// An object that names a secret in a sibling field has that sibling
// redacted: {"name": "Authorization", "value": "…"} (HAR headers,
// Kubernetes env lists, {"Key", "Value"} tag lists), as attributes and as
// JSON in text.
//
// Not sensitive: a key that merely contains such letters (author,
// keyboard, primary_key, tokenizer, bypass); a key whose last word
// measures or refers to the secret rather than holding it (token_count,
// auth_latency_ms, max_tokens, token_file, secret_name, api_key_id); the
// ids fieldlog relies on (install_id, session_id, user_id, trace_id,
// span_id, breadcrumb_category), which are never scrubbed, nor the keys
// in Options.SafeKeys.
//
// # Free text
//
// The message, the error, the logger name, every attribute key and every
// string attribute value are searched by rules, run in this order, each
// replacing what it finds with a typed marker. Values of other types are
// searched as text too: errors, Stringers, byte slices and any other type
// reach sinks as their scrubbed text; integers of 13 digits or more are
// checked for card numbers.
//
//	private_key   PEM and PGP private key blocks, to the END line or the
//	              end of the text                                         [PRIVATE_KEY]
//	jwt           JSON web tokens                                         [JWT]
//	bearer        the credential after "Bearer" or "Basic"                [TOKEN]
//	url_userinfo  the password in scheme://user:password@host             [REDACTED]
//	cloud_key     keys of known shape: AWS, Google, GitHub (ghp_, gho_,
//	              ghu_, ghs_, ghr_, github_pat_), GitLab, Slack, Stripe
//	              (sk_, rk_, whsec_), OpenAI, Anthropic, Hugging Face,
//	              npm, PyPI, Vault, DigitalOcean, SendGrid, …             [CLOUD_KEY]
//	kv_secret     the value after a sensitive key, matched as attribute
//	              keys are: key=value, key: value, "key": "value" (also
//	              escaped inside a JSON string), 'key' => 'value',
//	              <key>value</key>, URL query parameters (?sig=…,
//	              X-Amz-Signature=…), header lines; Authorization values
//	              keep their scheme and lose the credentials whatever the
//	              scheme (Token, Digest parameters, custom); Cookie and
//	              Set-Cookie lose every cookie value and keep names and
//	              attributes; command lines: --password value, curl -u
//	              user:…, -p value or -pvalue after mysql-style programs,
//	              sshpass or a -u user flag, redis-cli -a value;
//	              sibling name/value objects                              [REDACTED]
//	email         email addresses, also URL-encoded                       [EMAIL]
//	ssn           US social security numbers                              [SSN]
//	credit_card   Luhn-valid card numbers of 13 to 19 digits with a
//	              card network's first digits: grouped as cards are
//	              printed, or ungrouped next to a word naming a card
//	              (card, cc, pan, BIN, Kartennummer, カード, …) or in an
//	              attribute whose key names one                           [CARD]
//	ipv6          IPv6 addresses, compressed, zoned and IPv4-mapped       [IP]
//	ipv4          IPv4 addresses, not version numbers                     [IP]
//	phone         E.164 and US phone numbers                              [PHONE]
//	build_root    stack traces only: module cache, GOROOT, CI workspace
//	              and other build directories, removed from paths
//	home_path     home directories where a path starts: /home/<user> and
//	              /Users/<user> at the start of the text or after a space,
//	              quote, bracket, '=', ':' or in a file:// URI, and
//	              C:\Users\<user> (any case, escaped, spaces in the name) ~
//
// Options.Disable switches any of them off by name, and sensitive_key
// switches off the key rule; Options.Patterns adds rules of the caller's.
//
// Stack traces are read line by line: a Go function or file:line line, a
// goroutine header or a Dart frame holds code locations only, so only
// its path meets build_root and home_path; every other line (the panic
// message, an error, a frame of another format) meets every rule.
//
// # Left alone
//
// Benign look-alikes are not altered: UUIDs, trace and span ids (also
// decimal ones that pass the Luhn check), hashes, timestamps, versions
// (1.4.2, 10.0.19045.3693, and dotted quads after a product name and '/'
// as in Chrome/120.0.0.0, after Version= or build, in a user agent or an
// attribute whose key names a version), import paths, URL paths
// (/api/v1/users/42, /Users/42/orders, https://host/home/alice), app
// routes (/home/settings), durations, file:line references, ports,
// loopback addresses, shared home directories (/Users/Shared,
// C:\Users\Public), prose that mentions a secret ("no bearer token",
// "password reset email queued"), values that stand for a secret
// (password: ********, token: expired, ${DB_PASSWORD}), ports after -p
// (ssh -p 2222), and JSON: a JSON text in a message or a string is never
// re-encoded; when something in it is redacted, only that value changes,
// and keys, order, spacing and escapes stay as they were.
//
// # Guarantees
//
//   - A marker never contains what it replaced. With Options.HashKey,
//     every typed marker carries a keyed hash of the value it replaced
//     instead, so that the same value correlates across records (a
//     password redacted by key and the same password in text get the same
//     marker) and different values differ, without being readable.
//   - A record where something fired carries a [ScrubbedKey] attribute
//     listing the paths and rule names, never values.
//   - Sanitizing is idempotent: a sanitized record sanitized again is
//     unchanged.
//   - The output is valid UTF-8; invalid bytes become U+FFFD.
//   - Nothing panics out of Sanitize. A rule or value that panics costs
//     only the field it ran on, which becomes [SANITIZER_ERROR]; the
//     failure goes to Options.OnError.
//   - A clean record is returned as it is, without allocating: cheap
//     scans of each text decide which rules can fire before any of them
//     runs. Every rule is linear in the length of its text, and a 4 KB Go
//     stack trace costs tens of microseconds, module-cache and home
//     paths included.
package sanitizer
