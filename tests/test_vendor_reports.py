"""Parsing of vendor reports.  No vendor tool runs here: the reports below are FIXTURES
written by hand after the documented formats (Vitis HLS csynth.xml, Vivado
report_utilization / report_timing_summary text), trimmed to the parts we read."""
from __future__ import annotations

import pytest

from hfn_hls.errors import HfnError
from hfn_hls.vendor import reports

# FIXTURE: <solution>/syn/report/hfn_top_csynth.xml as Vitis HLS 2023.2 writes it (trimmed).
CSYNTH_XML = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit>
    <ProductFamily>zynq</ProductFamily>
    <Part>xc7z020-clg400-1</Part>
    <TopModelName>hfn_top</TopModelName>
    <TargetClockPeriod>10.00</TargetClockPeriod>
    <ClockUncertainty>2.70</ClockUncertainty>
    <FlowTarget>vivado</FlowTarget>
  </UserAssignments>
  <PerformanceEstimates>
    <PipelineType>no</PipelineType>
    <SummaryOfTimingAnalysis>
      <unit>ns</unit>
      <EstimatedClockPeriod>7.256</EstimatedClockPeriod>
    </SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit>
      <Best-caseLatency>40321</Best-caseLatency>
      <Average-caseLatency>41000</Average-caseLatency>
      <Worst-caseLatency>41877</Worst-caseLatency>
      <Best-caseRealTimeLatency>0.403 ms</Best-caseRealTimeLatency>
      <Average-caseRealTimeLatency>0.410 ms</Average-caseRealTimeLatency>
      <Worst-caseRealTimeLatency>0.419 ms</Worst-caseRealTimeLatency>
      <Interval-min>40322</Interval-min>
      <Interval-max>41878</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources>
      <BRAM_18K>12</BRAM_18K>
      <DSP>0</DSP>
      <FF>6543</FF>
      <LUT>9876</LUT>
      <URAM>0</URAM>
    </Resources>
    <AvailableResources>
      <BRAM_18K>280</BRAM_18K>
      <DSP>220</DSP>
      <FF>106400</FF>
      <LUT>53200</LUT>
      <URAM>0</URAM>
    </AvailableResources>
  </AreaEstimates>
</profile>
"""

# FIXTURE: Vivado `report_utilization` of a routed Zynq-7000 design (trimmed).
UTIL_7SERIES = """Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
| Design       : hfn_bd_wrapper
| Device       : 7z020clg400-1
| Design State : Routed

1. Slice Logic
--------------

+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| Slice LUTs                 | 12011 |     0 |          0 |     53200 | 22.58 |
|   LUT as Logic             | 11500 |     0 |          0 |     53200 | 21.62 |
| Slice Registers            | 14022 |     0 |          0 |    106400 | 13.18 |
+----------------------------+-------+-------+------------+-----------+-------+

2. Slice Logic Distribution
---------------------------

+--------------------------------------------+-------+-------+------------+-----------+-------+
|                  Site Type                 |  Used | Fixed | Prohibited | Available | Util% |
+--------------------------------------------+-------+-------+------------+-----------+-------+
| Slice                                      |  4200 |     0 |          0 |     13300 | 31.58 |
| LUT as Logic                               | 11500 |     0 |          0 |     53200 | 21.62 |
+--------------------------------------------+-------+-------+------------+-----------+-------+

3. Memory
---------

+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    | 14.5 |     0 |          0 |       140 | 10.36 |
|   RAMB36/FIFO*    |   14 |     0 |          0 |       140 | 10.00 |
|   RAMB18          |    1 |     0 |          0 |       280 |  0.36 |
+-------------------+------+-------+------------+-----------+-------+

4. DSP
------

+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |    2 |     0 |          0 |       220 |  0.91 |
+----------------+------+-------+------------+-----------+-------+
"""

# FIXTURE: the same for an UltraScale+ device (CLB names, URAM row).
UTIL_ULTRASCALE = """| Design State : Routed
1. CLB Logic
------------
+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| CLB LUTs*                  |  8001 |     0 |          0 |    230400 |  3.47 |
| CLB Registers              |  9002 |     0 |          0 |    460800 |  1.95 |
+----------------------------+-------+-------+------------+-----------+-------+
3. BLOCKRAM
-----------
+-------------------+------+-------+------------+-----------+-------+
|     Site Type     | Used | Fixed | Prohibited | Available | Util% |
+-------------------+------+-------+------------+-----------+-------+
| Block RAM Tile    |    3 |     0 |          0 |       312 |  0.96 |
| URAM              |    1 |     0 |          0 |        96 |  1.04 |
+-------------------+------+-------+------------+-----------+-------+
4. ARITHMETIC
-------------
+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |    0 |     0 |          0 |      1728 |  0.00 |
+----------------+------+-------+------------+-----------+-------+
"""

# FIXTURE: `report_timing_summary`, Design Timing Summary section.
TIMING = """------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints
    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------
      1.234        0.000                      0                31000        0.021        0.000                      0                31000        3.750        0.000                       0                 15000
"""


def write_csynth(root, text=CSYNTH_XML):
    p = root / "hfn_prj" / "solution1" / "syn" / "report" / "hfn_top_csynth.xml"
    p.parent.mkdir(parents=True)
    p.write_text(text)
    return p


def test_csynth_through_hls4ml_parser(tmp_path):
    p = write_csynth(tmp_path)
    r = reports.parse_csynth(p)
    assert r["latency_best"] == 40321 and r["latency_worst"] == 41877
    assert r["interval_min"] == 40322 and r["interval_max"] == 41878
    assert r["target_clock_ns"] == 10.0 and r["estimated_clock_ns"] == 7.256
    assert (r["lut"], r["ff"], r["bram_18k"], r["dsp"], r["uram"]) == (9876, 6543, 12, 0, 0)
    assert r["available_lut"] == 53200 and r["available_bram_18k"] == 280


def test_csynth_undefined_latency_is_none(tmp_path):
    p = write_csynth(tmp_path, CSYNTH_XML.replace("<Worst-caseLatency>41877",
                                                  "<Worst-caseLatency>undef"))
    assert reports.parse_csynth(p)["latency_worst"] is None


def test_utilization_7series():
    r = reports.parse_utilization(UTIL_7SERIES)
    assert (r["lut"], r["ff"], r["dsp"]) == (12011, 14022, 2)
    assert r["bram_18k"] == 29 and r["available_bram_18k"] == 280   # 14.5 tiles of 36 Kb
    assert r["available_lut"] == 53200 and "uram" not in r


def test_utilization_ultrascale():
    r = reports.parse_utilization(UTIL_ULTRASCALE)
    assert (r["lut"], r["ff"], r["bram_18k"], r["uram"], r["dsp"]) == (8001, 9002, 6, 1, 0)
    assert r["available_uram"] == 96


def test_utilization_garbage_is_user_error():
    with pytest.raises(HfnError, match="no lut"):
        reports.parse_utilization("nothing here\n", "x.rpt")


def test_timing_summary():
    assert reports.parse_timing_summary(TIMING) == {"wns_ns": 1.234, "whs_ns": 0.021,
                                                    "timing_met": True}
    bad = TIMING.replace("      1.234 ", "     -0.511 ")
    assert reports.parse_timing_summary(bad)["timing_met"] is False
