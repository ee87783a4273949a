//! A small builder of ONNX graphs: f32 / i64 initializers, nodes with attributes, and names
//! that are unique by construction.

use crate::onnx::{
    AttributeProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, attribute_proto,
    tensor_proto, tensor_shape_proto, type_proto,
};

/// A graph under construction.
#[derive(Default)]
pub struct Graph {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    counter: usize,
}

/// An attribute value of a node.
pub enum Attr {
    Ints(Vec<i64>),
    Str(String),
}

impl Graph {
    /// A fresh value name starting with `hint`.
    pub fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}:{}", self.counter)
    }

    /// An f32 initializer `name` of `dims` holding `data` (C order).
    pub fn f32_init(&mut self, name: &str, dims: &[usize], data: Vec<f32>) -> String {
        self.initializers.push(TensorProto {
            name: Some(name.to_string()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(tensor_proto::DataType::Float as i32),
            float_data: data,
            ..Default::default()
        });
        name.to_string()
    }

    /// An i64 initializer (shapes, axes, split sizes).
    pub fn i64_init(&mut self, hint: &str, data: &[i64]) -> String {
        let name = self.fresh(hint);
        self.initializers.push(TensorProto {
            name: Some(name.clone()),
            dims: vec![data.len() as i64],
            data_type: Some(tensor_proto::DataType::Int64 as i32),
            int64_data: data.to_vec(),
            ..Default::default()
        });
        name
    }

    /// Adds `op(inputs) -> outputs` and returns the outputs' names.
    pub fn node_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        n_out: usize,
        attrs: Vec<(&str, Attr)>,
    ) -> Vec<String> {
        let outputs: Vec<String> = (0..n_out).map(|_| self.fresh(op)).collect();
        let name = self.fresh(&format!("{op}_node"));
        self.nodes.push(NodeProto {
            op_type: Some(op.to_string()),
            name: Some(name),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.clone(),
            attribute: attrs.into_iter().map(|(n, a)| attribute(n, a)).collect(),
            ..Default::default()
        });
        outputs
    }

    /// Adds a node with one output and returns its name.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        self.node_n(op, inputs, 1, attrs).remove(0)
    }

    /// Renames value `from` to `to` with an Identity node (graph outputs get stable names).
    pub fn output_as(&mut self, from: &str, to: &str) {
        let name = self.fresh("Identity_node");
        self.nodes.push(NodeProto {
            op_type: Some("Identity".into()),
            name: Some(name),
            input: vec![from.to_string()],
            output: vec![to.to_string()],
            ..Default::default()
        });
    }

    /// The finished graph with its inputs and outputs.
    pub fn finish(
        self,
        name: &str,
        inputs: Vec<ValueInfoProto>,
        outputs: Vec<ValueInfoProto>,
    ) -> GraphProto {
        GraphProto {
            name: Some(name.to_string()),
            node: self.nodes,
            initializer: self.initializers,
            input: inputs,
            output: outputs,
            ..Default::default()
        }
    }
}

fn attribute(name: &str, a: Attr) -> AttributeProto {
    use attribute_proto::AttributeType as T;
    let mut p = AttributeProto {
        name: Some(name.to_string()),
        ..Default::default()
    };
    match a {
        Attr::Ints(v) => {
            p.r#type = Some(T::Ints as i32);
            p.ints = v;
        }
        Attr::Str(v) => {
            p.r#type = Some(T::String as i32);
            p.s = Some(v.into_bytes());
        }
    }
    p
}

/// A dimension of a graph input or output: fixed, or named (dynamic).
#[derive(Debug, Clone, Copy)]
pub enum Dim {
    Fixed(usize),
    Named(&'static str),
}

/// An f32 tensor value of the given dimensions, for the graph's inputs and outputs.
pub fn f32_value(name: &str, dims: &[Dim]) -> ValueInfoProto {
    use tensor_shape_proto::dimension::Value;
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(v) => Value::DimValue(*v as i64),
                Dim::Named(n) => Value::DimParam(n.to_string()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(crate::onnx::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(tensor_proto::DataType::Float as i32),
                shape: Some(crate::onnx::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
