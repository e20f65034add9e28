// A small typed builder for ONNX graphs, serialised with the `onnx-proto` schema.
//
// Why our own: the project generates models (tiny and full-size CLIP for tests and benchmarks) and
// training-step graphs (forward + loss + analytic gradients + optimiser) at run time; no maintained npm
// package builds ONNX graphs, so this wraps the protobuf schema in a few typed calls. Values are tensor
// names (strings); every `op` call appends one node in order, so the graph is topologically sorted.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';
/** A dimension: a fixed size, or a symbolic name such as `batch`. */
export type Dim = number | string;
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

const DATA_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Attribute values. Plain numbers are INT attributes; wrap floats with `float()` / `floats()`. */
export type AttrValue =
  | number
  | number[]
  | string
  | { readonly float: number }
  | { readonly floats: readonly number[] }
  | { readonly tensor: TensorValue }
  | { readonly graph: GraphBuilder };

export interface TensorValue {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

export const float = (v: number): { float: number } => ({ float: v });
export const floats = (v: readonly number[]): { floats: readonly number[] } => ({ floats: v });

function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint16Array) return 'float16'; // raw IEEE half bits
  return 'uint8';
}

function tensorProto(name: string, t: TensorValue): onnxProto.onnx.ITensorProto {
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new Error(`ONNX tensor ${name}: dims [${t.dims}] hold ${n} values, data has ${t.data.length}`);
  return {
    name,
    dataType: DATA_TYPE[t.dtype],
    dims: [...t.dims],
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
}

function valueInfo(name: string, dtype: DType | undefined, dims: readonly Dim[] | undefined): onnxProto.onnx.IValueInfoProto {
  if (!dtype) return { name };
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[dtype],
        shape: dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  };
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'graph') {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: value name ${name} used twice`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return this.claim(name);
  }

  /** A graph input. Subgraph (Loop body) inputs may leave dtype/dims undefined. */
  input(name: string, dtype?: DType, dims?: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), dtype, dims));
    return name;
  }

  /** A constant tensor stored in the model (weights). */
  initializer(name: string, data: TensorData, dims: readonly number[], dtype: DType = dtypeOf(data)): string {
    this.initializers.push(tensorProto(this.claim(name), { dtype, dims, data }));
    return name;
  }

  /** An anonymous constant, e.g. a shape or a scalar. */
  constant(data: TensorData, dims: readonly number[] = [data.length], dtype: DType = dtypeOf(data)): string {
    const name = this.fresh('const');
    this.initializers.push(tensorProto(name, { dtype, dims, data }));
    return name;
  }

  scalar(v: number, dtype: 'float32' | 'int64' = 'float32'): string {
    return dtype === 'int64' ? this.constant(BigInt64Array.of(BigInt(v)), []) : this.constant(Float32Array.of(v), []);
  }

  /** Appends a node with one output; returns the output's name (`out` names it explicitly). */
  op(type: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, out?: string): string {
    return this.opN(type, inputs, out ? [out] : 1, attrs)[0];
  }

  /** Appends a node with several outputs (a count, or explicit names; '' = an omitted optional output). */
  opN(type: string, inputs: readonly string[], outputs: number | readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, domain = ''): string[] {
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, () => this.fresh(type.toLowerCase()))
      : outputs.map((o) => (o === '' ? '' : this.claim(o)));
    this.nodes.push({
      opType: type,
      domain,
      name: `${type}_${this.nodes.length}`,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return outs;
  }

  /** Marks an existing value as a graph output. */
  output(value: string, dtype?: DType, dims?: readonly Dim[]): void {
    if (!this.names.has(value)) throw new Error(`ONNX graph ${this.name}: output ${value} is not a value of the graph`);
    this.outputs.push(valueInfo(value, dtype, dims));
  }

  toGraph(): onnxProto.onnx.IGraphProto {
    return {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
    };
  }
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute ${name}=${v}: wrap non-integer values with float()`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: [...v.floats] };
  if ('tensor' in v) return { name, type: T.TENSOR, t: tensorProto(name, v.tensor) };
  return { name, type: T.GRAPH, g: v.graph.toGraph() };
}

export interface ModelOptions {
  /** Default-domain opset (17 has LayerNormalization). */
  readonly opset?: number;
  readonly producer?: string;
  /** Extra operator sets, e.g. `{ 'com.microsoft': 1 }`. */
  readonly domains?: Readonly<Record<string, number>>;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Serialises a graph into ONNX ModelProto bytes, loadable by `InferenceSession.create(bytes)`. */
export function modelBytes(graph: GraphBuilder, opts: ModelOptions = {}): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    producerName: opts.producer ?? 'pipe',
    opsetImport: [
      { domain: '', version: opts.opset ?? 17 },
      ...Object.entries(opts.domains ?? {}).map(([domain, version]) => ({ domain, version })),
    ],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: graph.toGraph(),
  };
  return onnx.ModelProto.encode(model).finish();
}
