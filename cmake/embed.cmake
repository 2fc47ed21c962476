# SPDX-License-Identifier: MIT
# Turns a text file into a C header with one string constant:
#   cmake -DIN=file -DOUT=header.h -DNAME=symbol -P embed.cmake
file(READ "${IN}" content)
string(REPLACE "\\" "\\\\" content "${content}")
string(REPLACE "\"" "\\\"" content "${content}")
string(REPLACE "\t" "\\t" content "${content}")
string(REPLACE "\n" "\\n\"\n\"" content "${content}")
file(WRITE "${OUT}.tmp" "/* generated from ${IN}; do not edit */\nstatic const char ${NAME}[] =\n\"${content}\";\n")
file(RENAME "${OUT}.tmp" "${OUT}")
