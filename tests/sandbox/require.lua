-- expect: load: 'require' is not available in a policy \(require\.lua:2\)
local os = require("os")
return {}
