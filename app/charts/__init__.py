"""Plotly figure builders, one module per page: pure functions, data in, go.Figure out."""
