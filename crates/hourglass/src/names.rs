//! The names users give a network's preset and its parametrization (in TOML configs and on the
//! command line), defined once: serde, `FromStr`, `Display` and, with the `clap` feature,
//! clap's `ValueEnum` all use the same spelling.

use serde::{Deserialize, Serialize};

use crate::{ConfigError, HourglassConfig, LayerKind, Parametrization};

/// `FromStr`, `Display`, `ALL` and (feature `clap` of the crate that invokes it) clap's
/// `ValueEnum` from one list of names, so that configs and command lines spell a value alike.
#[doc(hidden)]
#[macro_export]
macro_rules! named_enum {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order the help lists them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name configs and the command line use.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                $ty::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    let names: Vec<&str> = $ty::ALL.iter().map(|v| v.name()).collect();
                    format!("unknown {} {s:?}: one of {}", $what, names.join(", "))
                })
            }
        }

        #[cfg(feature = "clap")]
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                $ty::ALL
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.name()))
            }
        }
    };
}

/// The network presets: `small` (1 stack, 32 features, input 128, the CPU default) and `mpii`
/// (2 stacks, 128 features, input 256); both depth 4, block depth 2, 16 joints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Small,
    Mpii,
}

named_enum!(Preset, "preset", { Small => "small", Mpii => "mpii" });

/// The kinds of parametrization of the kernel tensor: the whole tensor dense, Tucker, CP or
/// tensor train, or the layer-by-layer baseline (each 3x3 kernel its own Tucker / CP / TT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParamName {
    Dense,
    Tucker,
    Cp,
    Tt,
    LayerTucker,
    LayerCp,
    LayerTt,
}

named_enum!(ParamName, "parametrization", {
    Dense => "dense",
    Tucker => "tucker",
    Cp => "cp",
    Tt => "tt",
    LayerTucker => "layer-tucker",
    LayerCp => "layer-cp",
    LayerTt => "layer-tt",
});

/// How a parametrization's ranks are given: exactly one of `ranks` (a list), `rank` (one
/// integer) and `compression` (a ratio), and none for dense.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RankSpec {
    pub ranks: Option<Vec<usize>>,
    pub rank: Option<usize>,
    pub compression: Option<f64>,
}

impl ParamName {
    /// What each kind accepts, for the error when the spec does not fit.
    fn accepts(self) -> &'static str {
        match self {
            ParamName::Dense => "no ranks and no compression",
            ParamName::Tucker => "exactly one of ranks (8 values) or compression",
            ParamName::Cp => "exactly one of rank or compression",
            ParamName::Tt => {
                "exactly one of ranks (9 values, 1 first and last), rank or compression"
            }
            ParamName::LayerTucker => "exactly one of ranks (4 values) or compression",
            ParamName::LayerCp => "exactly one of rank or compression",
            ParamName::LayerTt => {
                "exactly one of ranks (5 values, 1 first and last), rank or compression"
            }
        }
    }

    /// The parametrization this kind and spec describe for a network of `sized`'s size (a
    /// uniform TT `rank` is clamped to what that tensor allows, as TensorLy clamps).
    pub fn parametrization(
        self,
        spec: &RankSpec,
        sized: &HourglassConfig,
    ) -> Result<Parametrization, ConfigError> {
        use ParamName as P;
        if spec.rank == Some(0) {
            return Err(ConfigError::Spec(format!(
                "{self}: rank must be at least 1"
            )));
        }
        Ok(match (self, &spec.ranks, spec.rank, spec.compression) {
            (P::Dense, None, None, None) => Parametrization::Dense,
            (P::Tucker, Some(r), None, None) => Parametrization::Tucker(r.clone()),
            (P::Tucker, None, None, Some(c)) => Parametrization::TuckerCompression(c),
            (P::Cp, None, Some(r), None) => Parametrization::Cp(r),
            (P::Cp, None, None, Some(c)) => Parametrization::CpCompression(c),
            (P::Tt, Some(r), None, None) => Parametrization::Tt(r.clone()),
            (P::Tt, None, Some(r), None) => Parametrization::Tt(sized.tt_uniform_ranks(r)),
            (P::Tt, None, None, Some(c)) => Parametrization::TtCompression(c),
            (P::LayerTucker, Some(r), None, None) => Parametrization::LayerTucker(r.clone()),
            (P::LayerCp, None, Some(r), None) => Parametrization::LayerCp(r),
            (P::LayerTt, Some(r), None, None) => Parametrization::LayerTt(r.clone()),
            (P::LayerTt, None, Some(r), None) => {
                Parametrization::LayerTt(sized.layer_tt_uniform_ranks(r))
            }
            (P::LayerTucker, None, None, Some(c)) => {
                Parametrization::LayerCompression(LayerKind::Tucker, c)
            }
            (P::LayerCp, None, None, Some(c)) => {
                Parametrization::LayerCompression(LayerKind::Cp, c)
            }
            (P::LayerTt, None, None, Some(c)) => {
                Parametrization::LayerCompression(LayerKind::Tt, c)
            }
            _ => {
                return Err(ConfigError::Spec(format!(
                    "{self} takes {}",
                    self.accepts()
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_every_spelling() {
        for &p in ParamName::ALL {
            assert_eq!(p.name().parse::<ParamName>().unwrap(), p);
            let toml_value = serde_json::to_string(&p).unwrap();
            assert_eq!(toml_value, format!("\"{p}\""));
        }
        for &p in Preset::ALL {
            assert_eq!(p.to_string().parse::<Preset>().unwrap(), p);
        }
        let e = "layer_tucker".parse::<ParamName>().unwrap_err();
        assert!(e.contains("layer-tucker"), "{e}");
    }
}
