"""Sensor descriptions: readable ids and units, shared by the core and both protocol adapters.

C-MAPSS ships its 21 measurements as ``s1``..``s21``; people and tag maps need names that say
what is measured and in which unit, so the column order lives here once (Saxena et al., 2008,
table 2).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One measured quantity of a machine: a readable id, a description and a unit."""

    id: str
    description: str
    unit: str

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum() or self.id != self.id.lower():
            raise ValueError(f"sensor id {self.id!r} must be lower-case letters, digits and _")


CMAPSS_SENSORS: tuple[SensorSpec, ...] = (
    SensorSpec("t2_fan_inlet_temp", "T2 total temperature at fan inlet (s1)", "°R"),
    SensorSpec("t24_lpc_outlet_temp", "T24 total temperature at LPC outlet (s2)", "°R"),
    SensorSpec("t30_hpc_outlet_temp", "T30 total temperature at HPC outlet (s3)", "°R"),
    SensorSpec("t50_lpt_outlet_temp", "T50 total temperature at LPT outlet (s4)", "°R"),
    SensorSpec("p2_fan_inlet_pressure", "P2 pressure at fan inlet (s5)", "psia"),
    SensorSpec("p15_bypass_duct_pressure", "P15 total pressure in bypass duct (s6)", "psia"),
    SensorSpec("p30_hpc_outlet_pressure", "P30 total pressure at HPC outlet (s7)", "psia"),
    SensorSpec("nf_fan_speed", "Nf physical fan speed (s8)", "rpm"),
    SensorSpec("nc_core_speed", "Nc physical core speed (s9)", "rpm"),
    SensorSpec("epr_engine_pressure_ratio", "epr engine pressure ratio P50/P2 (s10)", "ratio"),
    SensorSpec(
        "ps30_hpc_outlet_static_pressure", "Ps30 static pressure at HPC outlet (s11)", "psia"
    ),
    SensorSpec("phi_fuel_flow_ratio", "phi ratio of fuel flow to Ps30 (s12)", "pps/psi"),
    SensorSpec("nrf_corrected_fan_speed", "NRf corrected fan speed (s13)", "rpm"),
    SensorSpec("nrc_corrected_core_speed", "NRc corrected core speed (s14)", "rpm"),
    SensorSpec("bpr_bypass_ratio", "BPR bypass ratio (s15)", "ratio"),
    SensorSpec("farb_burner_fuel_air_ratio", "farB burner fuel-air ratio (s16)", "ratio"),
    SensorSpec("htbleed_bleed_enthalpy", "htBleed bleed enthalpy (s17)", "ratio"),
    SensorSpec("nf_dmd_demanded_fan_speed", "Nf_dmd demanded fan speed (s18)", "rpm"),
    SensorSpec(
        "pcnfr_dmd_demanded_corrected_fan_speed",
        "PCNfR_dmd demanded corrected fan speed (s19)",
        "rpm",
    ),
    SensorSpec("w31_hpt_coolant_bleed", "W31 HPT coolant bleed (s20)", "lbm/s"),
    SensorSpec("w32_lpt_coolant_bleed", "W32 LPT coolant bleed (s21)", "lbm/s"),
)
"""The 21 C-MAPSS measurements in file order (columns 6..26)."""
