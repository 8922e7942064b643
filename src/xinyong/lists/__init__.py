"""Red list, black list (严重失信主体名单) and watch list (重点关注) as membership histories."""
