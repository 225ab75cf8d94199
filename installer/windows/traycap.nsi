; NSIS 3 script: the per-user traycap setup for 64-bit Windows (no administrator rights).
;
; Built by scripts/build-windows.sh with Debian's native makensis, which passes:
;   -DVERSION=0.3.0  -DVERSION4=0.3.0.0  -DAPPDIR=<the PyInstaller folder>  -DOUTFILE=<setup.exe>
;   -DICON=assets/traycap.ico
;   -DCOMPRESSOR="/SOLID lzma" (a release) or "zlib" (the test-only "previous" build)
;   -DPREVIOUS_MARKER=1  (only that test build: leaves a file the upgrade must remove)
;
; What goes where:
;   program     %LOCALAPPDATA%\Programs\traycap\   (traycap.exe, traycapw.exe, _internal\, uninstall.exe)
;   Start menu  %APPDATA%\Microsoft\Windows\Start Menu\Programs\traycap.lnk -> traycapw.exe tray
;   sign-in     HKCU\Software\Microsoft\Windows\CurrentVersion\Run "traycap", written by the program
;               itself (`traycap autostart on`), the value `traycap autostart` manages
;   Apps        HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\traycap
;   data        %LOCALAPPDATA%\traycap\ (or TRAYCAP_HOME): recordings, settings, logs. Never written
;               here; removed only by the uninstaller's "Also remove my recordings and settings".
;
; Command line (for IT):
;   setup.exe /S [/AUTOSTART=0|1] [/D=C:\path]      silent install or upgrade
;   uninstall.exe /S [/REMOVEDATA]                  silent removal, keeping the data unless /REMOVEDATA
; An upgrade asks a running tray to quit first (`traycap quit`: a recording is saved, an upload
; pauses at a part boundary) and, when silent, starts it again afterwards.

Unicode true
Target amd64-unicode
!macro REQUIRE NAME
  !ifndef ${NAME}
    !error "${NAME} is not defined: build with scripts/build-windows.sh"
  !endif
!macroend
!insertmacro REQUIRE VERSION
!insertmacro REQUIRE VERSION4
!insertmacro REQUIRE APPDIR
!insertmacro REQUIRE OUTFILE
!insertmacro REQUIRE ICON
!ifndef COMPRESSOR
  !define COMPRESSOR "/SOLID lzma"
!endif

!define APP "traycap"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\traycap"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
; `traycap quit` exits 3 when no tray was running (traycap/commands/quit_cmd.py).
!define QUIT_NOT_RUNNING 3

Name "${APP}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "${UNINST_KEY}" "InstallLocation"
SetCompressor /FINAL ${COMPRESSOR}
!if "${COMPRESSOR}" == "/SOLID lzma"
  SetCompressorDictSize 64
!endif
ManifestDPIAware true
ManifestSupportedOS Win10
BrandingText "${APP} ${VERSION}"
ShowInstDetails nevershow
ShowUninstDetails nevershow

VIProductVersion "${VERSION4}"
VIFileVersion "${VERSION4}"
VIAddVersionKey /LANG=1033 "ProductName" "${APP}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP} ${VERSION} setup"
VIAddVersionKey /LANG=1033 "CompanyName" "${APP}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "MIT License"

!include "MUI2.nsh"
!include "nsDialogs.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"

; Made from assets/traycap-master.png by scripts/make_icons.py, like every icon traycap ships.
!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING

Var Autostart        ; 1: the Run value is written ("Start traycap when I sign in")
Var AutostartBox
Var WasRunning       ; 1: a tray was running before the upgrade (started again when silent)
Var RemoveData       ; 1: the uninstaller also removes the recordings and settings
Var RemoveDataBox
Var DataDir

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
Page custom OptionsPage OptionsPageLeave
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN "$INSTDIR\traycapw.exe"
!define MUI_FINISHPAGE_RUN_PARAMETERS "tray"
!define MUI_FINISHPAGE_RUN_TEXT "Start traycap now"
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
UninstPage custom un.OptionsPage un.OptionsPageLeave
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

; --- install -------------------------------------------------------------------------------

Function .onInit
  ; The default: on for a first install; an upgrade keeps what the user chose (the Run value).
  ReadRegStr $0 HKCU "${UNINST_KEY}" "DisplayVersion"
  ReadRegStr $1 HKCU "${RUN_KEY}" "${APP}"
  ${If} $0 == ""
  ${OrIf} $1 != ""
    StrCpy $Autostart 1
  ${Else}
    StrCpy $Autostart 0
  ${EndIf}
  ${GetParameters} $2
  ClearErrors
  ${GetOptions} $2 "/AUTOSTART=" $3
  ${IfNot} ${Errors}
    ${If} $3 == "0"
      StrCpy $Autostart 0
    ${Else}
      StrCpy $Autostart 1
    ${EndIf}
  ${EndIf}
FunctionEnd

Function OptionsPage
  !insertmacro MUI_HEADER_TEXT "Options" "Choose when traycap starts."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateCheckbox} 0 0 100% 12u "Start traycap when I sign in"
  Pop $AutostartBox
  ${If} $Autostart == 1
    ${NSD_Check} $AutostartBox
  ${EndIf}
  ${NSD_CreateLabel} 0 20u 100% 36u "traycap waits in the notification area; Ctrl+Shift+R starts and stops a recording. You can change this later with `traycap autostart on|off`."
  Pop $0
  nsDialogs::Show
FunctionEnd

Function OptionsPageLeave
  ${NSD_GetState} $AutostartBox $0
  ${If} $0 == ${BST_CHECKED}
    StrCpy $Autostart 1
  ${Else}
    StrCpy $Autostart 0
  ${EndIf}
FunctionEnd

Section "traycap" SecMain
  SectionIn RO
  StrCpy $WasRunning 0
  ${If} ${FileExists} "$INSTDIR\traycap.exe"
    ; A running tray holds its files open: ask it to quit as its menu's Quit does, and wait.
    DetailPrint "Asking the running traycap to quit"
    retry:
    nsExec::ExecToLog '"$INSTDIR\traycap.exe" quit'
    Pop $0
    ${If} $0 == 0
      StrCpy $WasRunning 1
    ${ElseIf} $0 != ${QUIT_NOT_RUNNING}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "traycap is still running. Quit it from its icon in the notification area, then choose Retry." /SD IDCANCEL IDRETRY retry
      Abort "traycap is still running"
    ${EndIf}
    ; The program folder is replaced whole, so nothing of the older version lingers.
    RMDir /r "$INSTDIR\_internal"
  ${EndIf}

  SetOutPath "$INSTDIR"
  File /r "${APPDIR}\*.*"
  !ifdef PREVIOUS_MARKER
    FileOpen $0 "$INSTDIR\_internal\left-by-the-previous-version.txt" w
    FileWrite $0 "The upgrade removes this file."
    FileClose $0
  !endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  SetShellVarContext current
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\traycapw.exe" "tray" "$INSTDIR\traycapw.exe" 0 SW_SHOWNORMAL "" "Record screen sessions and upload them"

  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\traycapw.exe"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" $0

  ; The Run value is the program's to write: the same text `traycap autostart status` expects.
  ${If} $Autostart == 1
    nsExec::ExecToLog '"$INSTDIR\traycap.exe" autostart on'
    Pop $0
  ${Else}
    ReadRegStr $1 HKCU "${RUN_KEY}" "${APP}"
    ${If} $1 != ""
      nsExec::ExecToLog '"$INSTDIR\traycap.exe" autostart off'
      Pop $0
    ${EndIf}
  ${EndIf}

  ; Interactive setups offer "Start traycap now" on the last page; a silent upgrade puts back
  ; the tray it quit.
  ${If} $WasRunning == 1
  ${AndIf} ${Silent}
    Exec '"$INSTDIR\traycapw.exe" tray'
  ${EndIf}
SectionEnd

; --- uninstall -----------------------------------------------------------------------------

Function un.onInit
  StrCpy $RemoveData 0
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/REMOVEDATA" $1
  ${IfNot} ${Errors}
    StrCpy $RemoveData 1
  ${EndIf}
  ; Where traycap keeps its data, as the program sees it.
  ReadEnvStr $DataDir "TRAYCAP_HOME"
  ${If} $DataDir == ""
    StrCpy $DataDir "$LOCALAPPDATA\${APP}"
  ${EndIf}
FunctionEnd

Function un.OptionsPage
  !insertmacro MUI_HEADER_TEXT "Your recordings" "They are kept apart from the program."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 36u "Your recorded sessions, upload settings and logs are in $DataDir. They stay there unless you tick the box below, and a later install of traycap finds them again."
  Pop $0
  ${NSD_CreateCheckbox} 0 44u 100% 12u "Also remove my recordings and settings"
  Pop $RemoveDataBox
  ${If} $RemoveData == 1
    ${NSD_Check} $RemoveDataBox
  ${EndIf}
  nsDialogs::Show
FunctionEnd

Function un.OptionsPageLeave
  ${NSD_GetState} $RemoveDataBox $0
  ${If} $0 == ${BST_CHECKED}
    StrCpy $RemoveData 1
  ${Else}
    StrCpy $RemoveData 0
  ${EndIf}
FunctionEnd

Section "Uninstall"
  ${If} ${FileExists} "$INSTDIR\traycap.exe"
    nsExec::ExecToLog '"$INSTDIR\traycap.exe" quit'
    Pop $0
    ; Removes the Run value (and a Start-up shortcut or a Task Manager "disabled" mark).
    nsExec::ExecToLog '"$INSTDIR\traycap.exe" autostart off'
    Pop $0
  ${EndIf}

  SetShellVarContext current
  Delete "$SMPROGRAMS\${APP}.lnk"
  ; The program's own files by name: $INSTDIR may be a folder the user chose that holds more.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\traycap.exe"
  Delete "$INSTDIR\traycapw.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINST_KEY}"

  ${If} $RemoveData == 1
    ; What traycap keeps in its data dir, by name: TRAYCAP_HOME may point at a folder that also
    ; holds other things (the same list as installer/linux/uninstall.sh --purge-data).
    RMDir /r "$DataDir\sessions"
    RMDir /r "$DataDir\Logs"
    Delete "$DataDir\upload-config.json"
    Delete "$DataDir\app-settings.json"
    Delete "$DataDir\uploads-paused.json"
    Delete "$DataDir\*.lock"
    Delete "$DataDir\.tmp-*"
    RMDir "$DataDir"
    ; The upload secret in Credential Manager, under the targets python-keyring writes
    ; (service "traycap"; "<account>@traycap" once a second account shares it).
    System::Call 'advapi32::CredDeleteW(w "${APP}", i 1, i 0) i .r0'
    System::Call 'advapi32::CredDeleteW(w "secretAccessKey@${APP}", i 1, i 0) i .r0'
    System::Call 'advapi32::CredDeleteW(w "sessionToken@${APP}", i 1, i 0) i .r0'
  ${EndIf}
SectionEnd
