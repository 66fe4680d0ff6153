"""One module per ODD submodel, named as in docs/ODD.md section 7."""
