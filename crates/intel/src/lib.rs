//! Watchlist decoders: plain lists, CSV and Zeek intel files.
