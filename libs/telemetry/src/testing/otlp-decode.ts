// Decoding of OTLP trace export requests (ExportTraceServiceRequest) into one plain shape, from
// either encoding OTLP/HTTP allows: JSON (what @opentelemetry/exporter-trace-otlp-http sends) or
// binary protobuf (exporter-trace-otlp-proto, and most other SDKs by default). The protobuf reader
// covers exactly the messages of opentelemetry/proto/trace/v1 and common/v1 that a receiver needs;
// unknown fields are skipped as the protobuf rules require.

export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP Span.SpanKind number: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  /** OTLP Status.StatusCode number: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
}

export interface DecodedScopeSpans {
  scope: { name: string; version?: string };
  spans: DecodedSpan[];
}

export interface DecodedResourceSpans {
  resource: Record<string, unknown>;
  scopeSpans: DecodedScopeSpans[];
}

export class OtlpDecodeError extends Error {
  override name = 'OtlpDecodeError';
}

// ---------------------------------------------------------------------------------------------
// JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): ids are hex, 64-bit
// integers may be strings, enums may be numbers or names.

export function decodeJsonRequest(body: unknown): DecodedResourceSpans[] {
  const request = asObject(body, 'request');
  return asArray(request.resourceSpans, 'resourceSpans').map((resourceSpans) => {
    const rs = asObject(resourceSpans, 'resourceSpans[]');
    const resource = rs.resource === undefined ? {} : asObject(rs.resource, 'resource');
    return {
      resource: jsonAttributes(resource.attributes),
      scopeSpans: asArray(rs.scopeSpans, 'scopeSpans').map((scopeSpans) => {
        const ss = asObject(scopeSpans, 'scopeSpans[]');
        const scope = ss.scope === undefined ? {} : asObject(ss.scope, 'scope');
        return {
          scope: { name: optionalString(scope.name) ?? '', version: optionalString(scope.version) },
          spans: asArray(ss.spans, 'spans').map((span) => jsonSpan(asObject(span, 'span'))),
        };
      }),
    };
  });
}

function jsonSpan(span: Record<string, unknown>): DecodedSpan {
  const status = span.status === undefined ? {} : asObject(span.status, 'status');
  const parentSpanId = jsonId(span.parentSpanId);
  return {
    traceId: jsonId(span.traceId) ?? fail('span.traceId missing'),
    spanId: jsonId(span.spanId) ?? fail('span.spanId missing'),
    ...(parentSpanId ? { parentSpanId } : {}),
    name: optionalString(span.name) ?? '',
    kind: jsonEnum(span.kind, SPAN_KIND_NAMES),
    startTimeUnixNano: jsonUint64(span.startTimeUnixNano),
    endTimeUnixNano: jsonUint64(span.endTimeUnixNano),
    attributes: jsonAttributes(span.attributes),
    status: { code: jsonEnum(status.code, STATUS_CODE_NAMES), message: optionalString(status.message) || undefined },
    events: asArray(span.events, 'events').map((event) => {
      const e = asObject(event, 'event');
      return { name: optionalString(e.name) ?? '', timeUnixNano: jsonUint64(e.timeUnixNano), attributes: jsonAttributes(e.attributes) };
    }),
  };
}

const SPAN_KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function jsonEnum(value: unknown, names: string[]): number {
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && names.includes(value)) return names.indexOf(value);
  return fail(`unexpected enum value ${JSON.stringify(value)}`);
}

function jsonId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return fail('ids must be strings');
  // The OTLP spec says hex; generic proto3 JSON encoders produce base64. Accept both.
  if (/^(?:[0-9a-f]{16}|[0-9a-f]{32})$/i.test(value)) return value.toLowerCase();
  const hex = Buffer.from(value, 'base64').toString('hex');
  return hex.length === 16 || hex.length === 32 ? hex : fail(`malformed id "${value}"`);
}

function jsonUint64(value: unknown): string {
  if (value === undefined) return '0';
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString();
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value).toString();
  return fail(`malformed 64-bit integer ${JSON.stringify(value)}`);
}

function jsonAttributes(value: unknown): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const item of asArray(value, 'attributes')) {
    const keyValue = asObject(item, 'attribute');
    const key = optionalString(keyValue.key) ?? fail('attribute without key');
    attributes[key] = jsonAnyValue(keyValue.value);
  }
  return attributes;
}

function jsonAnyValue(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  const any = asObject(value, 'AnyValue');
  if ('stringValue' in any) return any.stringValue;
  if ('boolValue' in any) return any.boolValue;
  if ('intValue' in any) return int64Value(BigInt(jsonInt(any.intValue)));
  if ('doubleValue' in any) return typeof any.doubleValue === 'string' ? Number(any.doubleValue) : any.doubleValue;
  if ('arrayValue' in any) return asArray(asObject(any.arrayValue, 'arrayValue').values, 'values').map(jsonAnyValue);
  if ('kvlistValue' in any) return jsonAttributes(asObject(any.kvlistValue, 'kvlistValue').values);
  if ('bytesValue' in any) return Buffer.from(optionalString(any.bytesValue) ?? '', 'base64');
  return undefined;
}

function jsonInt(value: unknown): string | number {
  if ((typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value))) return value;
  return fail(`malformed intValue ${JSON.stringify(value)}`);
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return fail(`${what} must be an object`);
}

function asArray(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value as unknown[];
  return fail(`${what} must be an array`);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function fail(message: string): never {
  throw new OtlpDecodeError(message);
}

/** int64 attribute values: numbers when exact, decimal strings beyond 2^53. */
function int64Value(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

// ---------------------------------------------------------------------------------------------
// Binary protobuf. Field numbers from opentelemetry-proto v1.

const Wire = { Varint: 0, I64: 1, Len: 2, I32: 5 } as const;

class ProtoReader {
  private position = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  /** Next field as [field number, wire type]. */
  tag(): [number, number] {
    const tag = Number(this.varint());
    return [tag >>> 3, tag & 7];
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const byte = this.bytes[this.position++];
      if (byte === undefined) return fail('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    return fail('varint too long');
  }

  fixed64(): bigint {
    this.need(8);
    const value = this.view.getBigUint64(this.position, true);
    this.position += 8;
    return value;
  }

  double(): number {
    this.need(8);
    const value = this.view.getFloat64(this.position, true);
    this.position += 8;
    return value;
  }

  bytesField(): Uint8Array {
    const length = Number(this.varint());
    this.need(length);
    const value = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  string(): string {
    return Buffer.from(this.bytesField()).toString('utf8');
  }

  message(): ProtoReader {
    return new ProtoReader(this.bytesField());
  }

  skip(wire: number): void {
    switch (wire) {
      case Wire.Varint:
        this.varint();
        return;
      case Wire.I64:
        this.need(8);
        this.position += 8;
        return;
      case Wire.Len:
        this.bytesField();
        return;
      case Wire.I32:
        this.need(4);
        this.position += 4;
        return;
      default:
        fail(`unsupported wire type ${wire}`);
    }
  }

  private need(length: number): void {
    if (this.position + length > this.bytes.length) fail('truncated message');
  }
}

/** Calls `onField` for every field; `onField` returns false for fields it did not consume. */
function readFields(reader: ProtoReader, onField: (field: number, wire: number) => boolean): void {
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (!onField(field, wire)) reader.skip(wire);
  }
}

export function decodeProtobufRequest(bytes: Uint8Array): DecodedResourceSpans[] {
  const request = new ProtoReader(bytes);
  const result: DecodedResourceSpans[] = [];
  // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  readFields(request, (field, wire) => {
    if (field !== 1 || wire !== Wire.Len) return false;
    result.push(protoResourceSpans(request.message()));
    return true;
  });
  return result;
}

// ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
function protoResourceSpans(reader: ProtoReader): DecodedResourceSpans {
  const decoded: DecodedResourceSpans = { resource: {}, scopeSpans: [] };
  readFields(reader, (field, wire) => {
    if (wire !== Wire.Len) return false;
    if (field === 1) {
      // Resource { repeated KeyValue attributes = 1; }
      const resource = reader.message();
      readFields(resource, (resourceField, resourceWire) => {
        if (resourceField !== 1 || resourceWire !== Wire.Len) return false;
        protoKeyValue(resource.message(), decoded.resource);
        return true;
      });
      return true;
    }
    if (field === 2) {
      decoded.scopeSpans.push(protoScopeSpans(reader.message()));
      return true;
    }
    return false;
  });
  return decoded;
}

// ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
function protoScopeSpans(reader: ProtoReader): DecodedScopeSpans {
  const decoded: DecodedScopeSpans = { scope: { name: '' }, spans: [] };
  readFields(reader, (field, wire) => {
    if (wire !== Wire.Len) return false;
    if (field === 1) {
      // InstrumentationScope { string name = 1; string version = 2; }
      const scope = reader.message();
      readFields(scope, (scopeField, scopeWire) => {
        if (scopeWire !== Wire.Len) return false;
        if (scopeField === 1) decoded.scope.name = scope.string();
        else if (scopeField === 2) decoded.scope.version = scope.string();
        else return false;
        return true;
      });
      return true;
    }
    if (field === 2) {
      decoded.spans.push(protoSpan(reader.message()));
      return true;
    }
    return false;
  });
  return decoded;
}

// Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
//   SpanKind kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
//   repeated KeyValue attributes = 9; repeated Event events = 11; Status status = 15; }
function protoSpan(reader: ProtoReader): DecodedSpan {
  const span: DecodedSpan = {
    traceId: '',
    spanId: '',
    name: '',
    kind: 0,
    startTimeUnixNano: '0',
    endTimeUnixNano: '0',
    attributes: {},
    status: { code: 0 },
    events: [],
  };
  readFields(reader, (field, wire) => {
    switch (`${field}:${wire}`) {
      case `1:${Wire.Len}`:
        span.traceId = Buffer.from(reader.bytesField()).toString('hex');
        return true;
      case `2:${Wire.Len}`:
        span.spanId = Buffer.from(reader.bytesField()).toString('hex');
        return true;
      case `4:${Wire.Len}`: {
        const parent = Buffer.from(reader.bytesField()).toString('hex');
        if (parent) span.parentSpanId = parent;
        return true;
      }
      case `5:${Wire.Len}`:
        span.name = reader.string();
        return true;
      case `6:${Wire.Varint}`:
        span.kind = Number(reader.varint());
        return true;
      case `7:${Wire.I64}`:
        span.startTimeUnixNano = reader.fixed64().toString();
        return true;
      case `8:${Wire.I64}`:
        span.endTimeUnixNano = reader.fixed64().toString();
        return true;
      case `9:${Wire.Len}`:
        protoKeyValue(reader.message(), span.attributes);
        return true;
      case `11:${Wire.Len}`:
        span.events.push(protoEvent(reader.message()));
        return true;
      case `15:${Wire.Len}`:
        span.status = protoStatus(reader.message());
        return true;
      default:
        return false;
    }
  });
  if (!span.traceId || !span.spanId) fail('span without trace_id or span_id');
  return span;
}

// Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
function protoEvent(reader: ProtoReader): DecodedSpan['events'][number] {
  const event = { name: '', timeUnixNano: '0', attributes: {} };
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === Wire.I64) event.timeUnixNano = reader.fixed64().toString();
    else if (field === 2 && wire === Wire.Len) event.name = reader.string();
    else if (field === 3 && wire === Wire.Len) protoKeyValue(reader.message(), event.attributes);
    else return false;
    return true;
  });
  return event;
}

// Status { string message = 2; StatusCode code = 3; }
function protoStatus(reader: ProtoReader): DecodedSpan['status'] {
  const status: DecodedSpan['status'] = { code: 0 };
  readFields(reader, (field, wire) => {
    if (field === 2 && wire === Wire.Len) status.message = reader.string() || undefined;
    else if (field === 3 && wire === Wire.Varint) status.code = Number(reader.varint());
    else return false;
    return true;
  });
  return status;
}

// KeyValue { string key = 1; AnyValue value = 2; }
function protoKeyValue(reader: ProtoReader, into: Record<string, unknown>): void {
  let key: string | undefined;
  let value: unknown;
  readFields(reader, (field, wire) => {
    if (field === 1 && wire === Wire.Len) key = reader.string();
    else if (field === 2 && wire === Wire.Len) value = protoAnyValue(reader.message());
    else return false;
    return true;
  });
  if (key === undefined) fail('attribute without key');
  into[key] = value;
}

// AnyValue { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3;
//   double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
// ArrayValue { repeated AnyValue values = 1; }  KeyValueList { repeated KeyValue values = 1; }
function protoAnyValue(reader: ProtoReader): unknown {
  let value: unknown;
  readFields(reader, (field, wire) => {
    switch (`${field}:${wire}`) {
      case `1:${Wire.Len}`:
        value = reader.string();
        return true;
      case `2:${Wire.Varint}`:
        value = reader.varint() !== 0n;
        return true;
      case `3:${Wire.Varint}`:
        value = int64Value(BigInt.asIntN(64, reader.varint()));
        return true;
      case `4:${Wire.I64}`:
        value = reader.double();
        return true;
      case `5:${Wire.Len}`: {
        const array = reader.message();
        const values: unknown[] = [];
        readFields(array, (arrayField, arrayWire) => {
          if (arrayField !== 1 || arrayWire !== Wire.Len) return false;
          values.push(protoAnyValue(array.message()));
          return true;
        });
        value = values;
        return true;
      }
      case `6:${Wire.Len}`: {
        const list = reader.message();
        const entries: Record<string, unknown> = {};
        readFields(list, (listField, listWire) => {
          if (listField !== 1 || listWire !== Wire.Len) return false;
          protoKeyValue(list.message(), entries);
          return true;
        });
        value = entries;
        return true;
      }
      case `7:${Wire.Len}`:
        value = Buffer.from(reader.bytesField());
        return true;
      default:
        return false;
    }
  });
  return value;
}
