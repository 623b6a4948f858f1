package otlp

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/soliplex/fieldlog/ingest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
)

// Options configures the exporter.
type Options struct {
	// EndpointURL is the collector's OTLP/HTTP logs URL, such as
	// http://collector:4318/v1/logs; required.
	EndpointURL string
	Headers     map[string]string // extra request headers, such as an auth token
	Timeout     time.Duration     // per export; default 10 s
	// Naming chooses the attribute names; default ingest.BackendNames,
	// the production backend's, so that records from both backends
	// query alike.
	Naming ingest.Naming
}

// Exporter is an ingest.Exporter that sends entries to a collector.
type Exporter struct {
	exp    sdklog.Exporter
	naming ingest.Naming

	mu        sync.Mutex // one export at a time: the collector below is shared
	collected []sdklog.Record
	providers map[string]*sdklog.LoggerProvider
}

var _ ingest.Exporter = (*Exporter)(nil)

// New returns an Exporter for opts.
func New(ctx context.Context, opts Options) (*Exporter, error) {
	if opts.EndpointURL == "" {
		return nil, errors.New("otlp: Options.EndpointURL is required")
	}
	if opts.Naming != ingest.BackendNames && opts.Naming != ingest.OTelNames {
		return nil, errors.New("otlp: Options.Naming must be ingest.BackendNames or ingest.OTelNames")
	}
	hopts := []otlploghttp.Option{otlploghttp.WithEndpointURL(opts.EndpointURL)}
	if len(opts.Headers) > 0 {
		hopts = append(hopts, otlploghttp.WithHeaders(opts.Headers))
	}
	if opts.Timeout > 0 {
		hopts = append(hopts, otlploghttp.WithTimeout(opts.Timeout))
	}
	exp, err := otlploghttp.New(ctx, hopts...)
	if err != nil {
		return nil, fmt.Errorf("otlp: %w", err)
	}
	return &Exporter{exp: exp, naming: opts.Naming, providers: map[string]*sdklog.LoggerProvider{}}, nil
}

// collector is the processor behind every logger provider: it keeps what
// is emitted so Export can send it in one request and see the error.
type collector struct{ e *Exporter }

func (c collector) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }
func (c collector) OnEmit(_ context.Context, r *sdklog.Record) error {
	c.e.collected = append(c.e.collected, r.Clone())
	return nil
}
func (c collector) Shutdown(context.Context) error   { return nil }
func (c collector) ForceFlush(context.Context) error { return nil }

// Export converts entries and sends them in one OTLP request.
func (e *Exporter) Export(ctx context.Context, entries []ingest.StoredEntry) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.collected = e.collected[:0]
	for _, se := range entries {
		p := e.provider(se.Resource)
		logger := p.Logger(se.Logger)
		rec, ectx := convert(ctx, &se, e.naming)
		logger.Emit(ectx, rec)
	}
	if len(e.collected) == 0 {
		return nil
	}
	if err := e.exp.Export(ctx, e.collected); err != nil {
		return fmt.Errorf("otlp: export %d records: %w", len(e.collected), err)
	}
	return nil
}

// provider returns the logger provider for a resource, so records carry
// their batch's resource.
func (e *Exporter) provider(res map[string]string) *sdklog.LoggerProvider {
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var id strings.Builder
	attrs := make([]attribute.KeyValue, 0, len(res))
	for _, k := range keys {
		id.WriteString(k + "\x00" + res[k] + "\x00")
		attrs = append(attrs, attribute.String(k, res[k]))
	}
	if p, ok := e.providers[id.String()]; ok {
		return p
	}
	if len(e.providers) > 1000 { // many distinct resources: start over
		clear(e.providers)
	}
	p := sdklog.NewLoggerProvider(
		sdklog.WithResource(resource.NewSchemaless(attrs...)),
		sdklog.WithProcessor(collector{e}),
		sdklog.WithAttributeCountLimit(-1),
		sdklog.WithAttributeValueLengthLimit(-1),
	)
	e.providers[id.String()] = p
	return p
}

// convert maps one stored entry to an OTLP record and the context that
// carries its trace ids.
func convert(ctx context.Context, se *ingest.StoredEntry, naming ingest.Naming) (log.Record, context.Context) {
	var r log.Record
	if t := se.Time(); !t.IsZero() { // compat mode keeps timestamps that are not RFC 3339 as text
		r.SetTimestamp(t)
	}
	if s, ok := se.Attributes[ingest.ReceivedAtKey].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			r.SetObservedTimestamp(t)
		}
	}
	if lvl, ok := ingest.ParseLevel(se.Level); ok {
		r.SetSeverity(log.Severity(lvl.Severity()))
		r.SetSeverityText(lvl.SeverityText())
	}
	r.SetBody(attribute.StringValue(se.Message))

	named := se.NamedAttributes(naming)
	attrs := make([]attribute.KeyValue, len(named))
	for i, a := range named {
		attrs[i] = attribute.KeyValue{Key: attribute.Key(a.Key), Value: value(a.Value, 0)}
	}
	r.AddAttributes(attrs...)

	if se.TraceID != nil {
		var sc trace.SpanContextConfig
		if b, err := hex.DecodeString(*se.TraceID); err == nil && len(b) == 16 {
			copy(sc.TraceID[:], b)
		}
		if se.SpanID != nil {
			if b, err := hex.DecodeString(*se.SpanID); err == nil && len(b) == 8 {
				copy(sc.SpanID[:], b)
			}
		}
		ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(sc))
	}
	return r, ctx
}

// value converts a decoded JSON value to an OTLP value, keeping maps and
// lists.
func value(x any, depth int) attribute.Value {
	if depth > ingest.MaxAttributeDepth {
		return attribute.StringValue("!DEPTH")
	}
	switch v := x.(type) {
	case nil:
		return attribute.Value{}
	case string:
		return attribute.StringValue(v)
	case bool:
		return attribute.BoolValue(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return attribute.Int64Value(i)
		}
		if f, err := v.Float64(); err == nil {
			return attribute.Float64Value(f)
		}
		return attribute.StringValue(v.String())
	case float64:
		return attribute.Float64Value(v)
	case []any:
		vals := make([]attribute.Value, 0, len(v))
		for _, e := range v {
			vals = append(vals, value(e, depth+1))
		}
		return attribute.SliceValue(vals...)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		kvs := make([]attribute.KeyValue, 0, len(v))
		for _, k := range keys {
			kvs = append(kvs, attribute.KeyValue{Key: attribute.Key(k), Value: value(v[k], depth+1)})
		}
		return attribute.MapValue(kvs...)
	}
	return attribute.StringValue(fmt.Sprint(x))
}

// Close shuts the exporter down.
func (e *Exporter) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, p := range e.providers {
		errs = append(errs, p.Shutdown(ctx))
	}
	errs = append(errs, e.exp.Shutdown(ctx))
	return errors.Join(errs...)
}
