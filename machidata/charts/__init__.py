"""Charts (グラフ): charts stored as data, their Vega-Lite specs, the builder and the exports."""
