package sigstack

// Required is required, for the external tests.
var Required = required
