package sanitizer

import (
	"regexp"
	"strings"
)

// A rule finds one family of sensitive values in free text.
type rule struct {
	name      string
	marker    string              // the typed marker, such as [EMAIL]
	need      feat                // features the text must all have for the rule to run
	stackOnly bool                // runs on stack traces only
	custom    bool                // a caller's pattern
	maybe     func(s string) bool // finer test, run when need is met; nil: always
	apply     func(s string, r *rule, sc *scrubber) string
	re        *regexp.Regexp
}

// Rule names, in the order the rules run. Options.Disable takes them.
const (
	RulePrivateKey  = "private_key"   // PEM private key blocks, to the END line or the end of the text
	RuleJWT         = "jwt"           // JSON web tokens
	RuleBearer      = "bearer"        // the credential after "Bearer " or "Basic "
	RuleURLUserinfo = "url_userinfo"  // the password in scheme://user:password@host
	RuleCloudKey    = "cloud_key"     // cloud and service access keys with a known prefix
	RuleKVSecret    = "kv_secret"     // the value after a sensitive key and '=' or ':' in text
	RuleEmail       = "email"         // email addresses, also URL-encoded
	RuleSSN         = "ssn"           // US social security numbers
	RuleCard        = "credit_card"   // Luhn-valid payment card numbers
	RuleIPv6        = "ipv6"          // IPv6 addresses, zoned and IPv4-mapped included
	RuleIPv4        = "ipv4"          // IPv4 addresses
	RulePhone       = "phone"         // E.164 and US phone numbers
	RuleBuildRoot   = "build_root"    // build and module-cache directories in stack traces
	RuleHomePath    = "home_path"     // home directories in paths
	RuleKey         = "sensitive_key" // attribute values whose key is sensitive
)

// The markers of the built-in rules.
const (
	markPrivateKey = "[PRIVATE_KEY]"
	markJWT        = "[JWT]"
	markToken      = "[TOKEN]"
	markCloudKey   = "[CLOUD_KEY]"
	markEmail      = "[EMAIL]"
	markSSN        = "[SSN]"
	markCard       = "[CARD]"
	markIP         = "[IP]"
	markPhone      = "[PHONE]"
)

// cloudKeyRE finds access keys of known shape: each alternative starts
// with one of cloudPrefixes, which the feature scan looks for.
var cloudKeyRE = regexp.MustCompile(`\b(?:` + strings.Join([]string{
	`(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}`,                                   // AWS access key ids
	`AIza[0-9A-Za-z_-]{35}`,                                                 // Google API keys
	`GOCSPX-[0-9A-Za-z_-]{20,}`,                                             // Google OAuth client secrets
	`ya29\.[0-9A-Za-z_-]{20,}`,                                              // Google OAuth access tokens
	`gh[pousr]_[0-9A-Za-z]{36,}`,                                            // GitHub tokens: personal, OAuth, user, server, refresh
	`github_pat_[0-9A-Za-z_]{22,}`,                                          // GitHub fine-grained tokens
	`gl(?:pat|ptt|dt|rt|soat|cbt|imt|oas|ft)-[0-9A-Za-z_-]{20,}`,            // GitLab tokens
	`glagent-[0-9A-Za-z_-]{50,}`,                                            // GitLab agent tokens
	`GR1348941[0-9A-Za-z_-]{20,}`,                                           // GitLab runner registration tokens
	`gl(?:sa|c)_[0-9A-Za-z_=+/-]{32,}`,                                      // Grafana service account and cloud tokens
	`xox[abposrce]-[0-9A-Za-z-]{10,}`,                                       // Slack tokens
	`xapp-[0-9A-Za-z-]{10,}`,                                                // Slack app tokens
	`hooks\.slack\.com/(?:services|workflows|triggers)/[0-9A-Za-z/_-]{20,}`, // Slack webhooks
	`(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}`,                              // Stripe secret and restricted keys
	`whsec_[0-9A-Za-z]{24,}`,                                                // Stripe webhook secrets
	`sk-[A-Za-z0-9_-]{20,}`,                                                 // OpenAI, Anthropic, DeepSeek and other sk- keys
	`(?:gsk|xai|pplx|tvly)[_-][0-9A-Za-z_-]{20,}`,                           // Groq, xAI, Perplexity, Tavily keys
	`r8_[0-9A-Za-z]{30,}`,                                                   // Replicate tokens
	`hf_[A-Za-z0-9]{30,}`,                                                   // Hugging Face tokens
	`lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}`,                              // LangSmith keys
	`npm_[A-Za-z0-9]{36}`,                                                   // npm tokens
	`pypi-[0-9A-Za-z_-]{40,}`,                                               // PyPI tokens
	`rubygems_[0-9a-f]{48}`,                                                 // RubyGems keys
	`dckr_pat_[0-9A-Za-z_-]{20,}`,                                           // Docker Hub tokens
	`shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}`,                                    // Shopify tokens
	`SG\.[0-9A-Za-z_-]{16,}\.[0-9A-Za-z_-]{16,}`,                            // SendGrid keys
	`key-[0-9a-f]{32}`,                                                      // Mailgun keys
	`SK[0-9a-f]{32}`,                                                        // Twilio API keys
	`sq0(?:atp|csp)-[0-9A-Za-z_-]{22,}`,                                     // Square tokens
	`do[por]_v1_[0-9a-f]{64}`,                                               // DigitalOcean tokens
	`hv[sbr]\.[0-9A-Za-z_-]{20,}`,                                           // HashiCorp Vault tokens
	`dapi[0-9a-f]{32}(?:-\d)?`,                                              // Databricks tokens
	`NRAK-[0-9A-Z]{27}`,                                                     // New Relic keys
	`sntry[su]_[0-9A-Za-z_=+/-]{20,}`,                                       // Sentry tokens
	`sbp_[0-9a-f]{40}`,                                                      // Supabase tokens
	`lin_api_[0-9A-Za-z]{40}`,                                               // Linear keys
	`PMAK-[0-9a-f]{24}-[0-9a-f]{34}`,                                        // Postman keys
	`ATATT3[0-9A-Za-z_=-]{20,}`,                                             // Atlassian tokens
	`ATBB[0-9A-Za-z]{28,}`,                                                  // Bitbucket app passwords
	`HRKU-[0-9A-Za-z_-]{20,}`,                                               // Heroku keys
	`AGE-SECRET-KEY-1[0-9A-Z]{58}`,                                          // age secret keys
}, "|") + `)`)

func defaultRules() []*rule {
	return []*rule{
		{name: RulePrivateKey, marker: markPrivateKey, need: fDash5, maybe: containsFold("-----begin"), apply: replaceAll,
			re: regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\z)`)},
		{name: RuleJWT, marker: markJWT, need: fJWT, apply: replaceAll,
			re: regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,3}`)},
		{name: RuleBearer, marker: markToken, need: fBearer, apply: replaceBearer,
			re: regexp.MustCompile(`(?i)\b(?:bearer|basic)[ \t]+([A-Za-z0-9._~+/-]+=*)`)},
		{name: RuleURLUserinfo, marker: Redacted, need: fScheme | fAt, apply: replaceURLUserinfo},
		{name: RuleCloudKey, marker: markCloudKey, need: fCloud, apply: replaceAll, re: cloudKeyRE},
		{name: RuleKVSecret, marker: Redacted, need: fColonEq, apply: replaceKV},
		{name: RuleKVSecret, marker: Redacted, need: fFlag, apply: replaceFlags},
		{name: RuleKVSecret, marker: Redacted, need: fColonEq, maybe: siblingMaybe, apply: replaceSiblings},
		{name: RuleKVSecret, marker: Redacted, need: fXML, apply: replaceXMLElements},
		{name: RuleEmail, marker: markEmail, need: fAt, apply: replaceEmails},
		{name: RuleSSN, marker: markSSN, need: fDigits8, maybe: ssnMaybe, apply: replaceSSN,
			re: regexp.MustCompile(`\b\d{3}([- .])\d{2}([- .])\d{4}\b`)},
		{name: RuleCard, marker: markCard, need: fDigits13, maybe: digitRunAtLeast(13), apply: replaceCards},
		{name: RuleIPv6, marker: markIP, need: fColon2, apply: replaceIPv6},
		{name: RuleIPv4, marker: markIP, need: fDigitDot, apply: replaceIPv4},
		{name: RulePhone, marker: markPhone, need: fDigits8, maybe: phoneMaybe, apply: replacePhones,
			re: regexp.MustCompile(`\+\d(?:[ .-]?\(?\d+\)?){3,14}|\(\d{3}\)[ .-]?\d{3}[-. ]\d{4}|\d{3}[-. ]\d{3}[-. ]\d{4}`)},
		{name: RuleBuildRoot, marker: "", need: fSlash, stackOnly: true, apply: replaceBuildRoots},
		{name: RuleHomePath, marker: "~", need: fHome, apply: replaceHomes},
	}
}

func replaceAll(s string, r *rule, sc *scrubber) string {
	return r.re.ReplaceAllStringFunc(s, func(m string) string { return sc.mark(r, m) })
}

// replaceChecked replaces the matches that ok accepts, given the byte
// before the match (0 at the start) and the text after it.
func replaceChecked(s string, r *rule, sc *scrubber, ok func(m string, before byte, rest string) bool) string {
	idx := r.re.FindAllStringIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		var before byte
		if m[0] > 0 {
			before = s[m[0]-1]
		}
		if !ok(s[m[0]:m[1]], before, s[m[1]:]) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(sc.mark(r, s[m[0]:m[1]]))
		last = m[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceBearer replaces the credential after an authorization scheme
// when it looks like one: prose ("no bearer token", "basic
// authentication") and pairs ("auth_type=basic secret_name=x") are left
// alone.
func replaceBearer(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for _, m := range r.re.FindAllStringSubmatchIndex(s, -1) {
		from, to := m[2], m[3]
		tok := s[from:to]
		if to < len(s) && (isWordByte(s[to]) || s[to] == '=') || isKeyName(strings.TrimRight(tok, "=")) && strings.HasSuffix(tok, "=") ||
			isMarker(tok) || !looksLikeCredential(tok) {
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(sc.mark(r, tok))
		last = to
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isKeyName reports whether s is made of lower-case letters and '_', as
// the key of a pair is.
func isKeyName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || c == '_') {
			return false
		}
	}
	return s != ""
}

// looksLikeCredential reports whether a word after "Bearer" is a
// credential rather than an English word: it has a digit or a symbol, an
// upper-case letter after the first, or is long.
func looksLikeCredential(w string) bool {
	if len(w) >= 24 {
		return true
	}
	if len(w) < 6 {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if isDigit(c) || strings.IndexByte("._~+/=-", c) >= 0 || i > 0 && 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// isMarker reports whether s starts with a marker: "[" upper-case letters
// or '_', an optional ":" and hash, "]".
func isMarker(s string) bool {
	if len(s) < 3 || s[0] != '[' {
		return false
	}
	i := 1
	for i < len(s) && ('A' <= s[i] && s[i] <= 'Z' || s[i] == '_') {
		i++
	}
	if i == 1 || i == len(s) {
		return false
	}
	if s[i] == ':' {
		i++
		for i < len(s) && ('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			i++
		}
	}
	return i < len(s) && s[i] == ']'
}

// isWholeMarker reports whether s is one marker and nothing else.
func isWholeMarker(s string) bool {
	return len(s) >= 3 && s[len(s)-1] == ']' && isMarker(s) && strings.IndexByte(s, ']') == len(s)-1
}

// replaceURLUserinfo replaces the password of scheme://user:password@host.
func replaceURLUserinfo(s string, r *rule, sc *scrubber) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			break
		}
		start := i + k + 3
		end := start
		for end < len(s) && !isAuthorityEnd(s[end]) {
			end++
		}
		i = max(end, start)
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[start:start+at], ':')
		if colon < 0 {
			continue
		}
		from, to := start+colon+1, start+at
		if from == to || isMarker(s[from:to]) {
			continue
		}
		b.WriteString(s[last:from])
		b.WriteString(sc.mark(r, s[from:to]))
		last = to
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\r', '\n', '"', '\'', '`', '<', '>', '\\':
		return true
	}
	return false
}

func first(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
