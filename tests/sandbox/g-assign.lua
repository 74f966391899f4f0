-- expect: load: cannot assign to global '_G': globals are read-only \(g-assign\.lua:2\)
_G = {}
return {}
