"""Policy ensembles: several trained runs acting as one (`marlax enjoy/eval --ensemble`)."""
