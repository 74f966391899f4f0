# vm
