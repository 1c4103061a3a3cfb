"""Analysis workbench (分析): effect verification, forecasting and sample-size planning.

The estimators are plain typed functions over pandas DataFrames (no Django); each returns an
:class:`~machidata.analysis.results.AnalysisResult` and refuses, in Japanese, a design the data cannot support.
"""
