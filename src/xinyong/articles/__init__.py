"""The credit office's articles on the portal (诚信典型, 失信案例警示, 信用知识, 政策法规, 信用动态)."""
