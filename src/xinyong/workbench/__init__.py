"""The department workbench (部门工作台): submission history and the rejected-rows file."""
